import Foundation
import RelBERTProtocol
import XCTest
import ZeroMQ

final class EnvelopeTests: XCTestCase {
    func testRoundTripKeepsHeaderBodyAndTensors() throws {
        var body = Relbert_V1_StatusRequest()
        body.jobID = "job-1"
        let tensor = TensorFrames.int32s([1, 2, 3])
        let sent = Envelope(method: "jobs.Status", requestID: 42, message: body, tensors: [tensor],
                            deadline: Date(timeIntervalSince1970: 2_000_000_000))
        let received = try Envelope.parse(sent.frames)
        XCTAssertEqual(received.header.method, "jobs.Status")
        XCTAssertEqual(received.header.requestID, 42)
        XCTAssertEqual(received.header.version, 1)
        XCTAssertEqual(received.header.deadlineUnixMs, 2_000_000_000_000)
        XCTAssertFalse(received.header.isReply)
        XCTAssertEqual(try received.body(as: Relbert_V1_StatusRequest.self).jobID, "job-1")
        XCTAssertEqual(TensorFrames.readInt32s(received.tensors[0]), [1, 2, 3])
        XCTAssertFalse(received.isPastDeadline)

        let reply = Envelope.error(to: received.header, ProtocolError(.notFound, "no job"))
        let parsed = try Envelope.parse(reply.frames)
        XCTAssertTrue(parsed.header.isReply)
        XCTAssertEqual(parsed.header.requestID, 42)
        XCTAssertEqual(parsed.statusError, ProtocolError(.notFound, "no job"))
    }

    func testMalformedMessagesAreRefusedWithAStatus() {
        func status(_ frames: [ZMQFrame], limits: MessageLimits = MessageLimits()) -> Relbert_V1_StatusCode? {
            do { _ = try Envelope.parse(frames, limits: limits); return nil } catch { return error.status }
        }
        XCTAssertEqual(status([ZMQFrame([1, 2, 3])]), .invalidArgument)                       // one frame
        XCTAssertEqual(status([ZMQFrame([0xFF, 0xFF, 0xFF]), ZMQFrame([])]), .invalidArgument)  // not a header
        var header = Relbert_V1_Header()
        header.version = 2
        header.method = "jobs.List"
        XCTAssertEqual(status([ZMQFrame(try! header.serializedData()), ZMQFrame([])]), .failedPrecondition)
        header.version = 1
        header.method = ""
        XCTAssertEqual(status([ZMQFrame(try! header.serializedData()), ZMQFrame([])]), .invalidArgument)  // request without method
        header.method = "jobs.List"
        var small = MessageLimits()
        small.maxBodyBytes = 4
        XCTAssertEqual(status([ZMQFrame(try! header.serializedData()), ZMQFrame([UInt8](repeating: 0, count: 5))], limits: small),
                       .resourceExhausted)
        let many = [ZMQFrame(try! header.serializedData()), ZMQFrame([])] + Array(repeating: ZMQFrame([0]), count: 17)
        XCTAssertEqual(status(many), .resourceExhausted)
        XCTAssertNil(status([ZMQFrame(try! header.serializedData()), ZMQFrame([])]))
    }

    func testTensorValidationChecksNamesSizesAndOverflow() {
        let frame = TensorFrames.int32s([1, 2, 3, 4])
        func status(_ specs: [Relbert_V1_TensorSpec], _ frames: [ZMQFrame], names: [String] = ["x"], max: Int = 100) -> Relbert_V1_StatusCode? {
            do { try TensorFrames.validate(frames, against: specs, expecting: names, maxElements: max); return nil } catch { return error.status }
        }
        XCTAssertNil(status([TensorFrames.spec("x", .i32, [2, 2])], [frame]))
        XCTAssertEqual(status([TensorFrames.spec("x", .i32, [3])], [frame]), .invalidArgument)          // wrong byte count
        XCTAssertEqual(status([TensorFrames.spec("y", .i32, [4])], [frame]), .invalidArgument)          // wrong name
        XCTAssertEqual(status([TensorFrames.spec("x", .i32, [4])], []), .invalidArgument)               // missing frame
        XCTAssertEqual(status([TensorFrames.spec("x", .unspecified, [4])], [frame]), .invalidArgument)  // no dtype
        XCTAssertEqual(status([TensorFrames.spec("x", .i32, [1 << 40, 1 << 40])], [frame], max: Int.max), .resourceExhausted)
        XCTAssertEqual(status([TensorFrames.spec("x", .i32, [200])], [frame]), .resourceExhausted)
    }

    func testBF16RoundsToNearestEven() {
        let values: [Float] = [1, -2.5, 3.140625, 1 + 1.0 / 256, 1 + 3.0 / 256, 65504, 1e-30]
        let frame = values.withUnsafeBufferPointer { TensorFrames.bf16($0.baseAddress!, count: values.count) }
        XCTAssertEqual(frame.count, values.count * 2)
        var back = [Float](repeating: 0, count: values.count)
        back.withUnsafeMutableBufferPointer { TensorFrames.readFloats(frame, dtype: .bf16, into: $0.baseAddress!, count: values.count) }
        XCTAssertEqual(back[0], 1)
        XCTAssertEqual(back[1], -2.5)
        XCTAssertEqual(back[2], 3.140625)
        XCTAssertEqual(back[3], 1)                 // a tie rounds to the even neighbour (down)
        XCTAssertEqual(back[4], 1 + 4.0 / 256)     // a tie rounds to the even neighbour (up)
        for (a, b) in zip(values, back) { XCTAssertEqual(b, a, accuracy: abs(a) / 128) }
    }
}
