import XCTest
import Foundation
@testable import ZeroMQ

final class ZMQFrameTests: XCTestCase {
    func testConversions() {
        let frame = ZMQFrame("héllo")
        XCTAssertEqual(frame.bytes, Array("héllo".utf8))
        XCTAssertEqual(frame.count, 6)
        XCTAssertEqual(frame.string, "héllo")
        XCTAssertEqual(frame.data, Data("héllo".utf8))
        XCTAssertNil(ZMQFrame([0xFF, 0xFE]).string, "invalid UTF-8")
        XCTAssertEqual(ZMQFrame(Data([1, 2, 3])).bytes, [1, 2, 3])
        XCTAssertEqual([Float(1.5), 2].withUnsafeBytes { ZMQFrame(copying: $0) }.count, 8)
        XCTAssertTrue(ZMQFrame([]).isEmpty)
        XCTAssertEqual(ZMQFrame("ok").description, "ZMQFrame(2 bytes: \"ok\")")
        XCTAssertEqual(ZMQFrame([0, 1, 0xAB]).description, "ZMQFrame(3 bytes: 0x0001ab)")
    }

    func testEqualityAndHashingIgnoreStorage() {
        let array = ZMQFrame([1, 2, 3])
        let buffer = ZMQFrame(count: 3) { $0.copyBytes(from: [1, 2, 3]) }
        XCTAssertEqual(array, buffer)
        XCTAssertEqual(array.hashValue, buffer.hashValue)
        XCTAssertNotEqual(array, ZMQFrame([1, 2]))
        XCTAssertNotEqual(array, ZMQFrame([1, 2, 4]))
        XCTAssertEqual(Set([array, buffer, ZMQFrame([9])]).count, 2)
    }

    func testValueSemantics() {
        let original = ZMQFrame(count: 4) { $0.copyBytes(from: [1, 2, 3, 4]) }
        var copy = original
        copy.bytes[0] = 99
        XCTAssertEqual(original.bytes, [1, 2, 3, 4])
        XCTAssertEqual(copy.bytes, [99, 2, 3, 4])
    }

    func testInitializerErrorsPropagate() {
        struct Oops: Error {}
        XCTAssertThrowsError(try ZMQFrame(count: 8) { _ throws(Oops) in throw Oops() }) { error in
            XCTAssertTrue(error is Oops)
        }
    }

    func testSentBuffersAreReleasedOnceLibzmqIsDoneWithThem() throws {
        let context = try ZMQContext()
        let receiver = try ZMQSocket(context: context, type: .pair)
        try receiver.bind("inproc://release")
        let sender = try ZMQSocket(context: context, type: .pair)
        try sender.connect("inproc://release")

        weak var sentBuffer: FrameBuffer?
        weak var receivedBuffer: FrameBuffer?
        do {
            let frame = ZMQFrame(count: 1 << 20) { $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
            guard case .buffer(let buffer) = frame.storage else { return XCTFail("expected a shared buffer") }
            sentBuffer = buffer
            try sender.send(frames: [frame])
            let received = try XCTUnwrap(receiver.receive(timeoutMilliseconds: 2000))
            XCTAssertEqual(received, [frame])
            guard case .buffer(let incoming) = received[0].storage else { return XCTFail("expected a shared buffer") }
            receivedBuffer = incoming
        }
        // inproc passes the message itself: the receiver's frame held the last reference.
        XCTAssertNil(sentBuffer, "the sent buffer leaked (or is still referenced by libzmq)")
        XCTAssertNil(receivedBuffer, "the received message leaked")
    }
}
