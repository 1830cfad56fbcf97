import XCTest
import Foundation
@testable import ZeroMQ
import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

final class ZMQSocketTests: XCTestCase {
    func testVersionIsReported() {
        let v = ZMQVersion.components
        XCTAssertEqual(ZMQVersion.string, "\(v.major).\(v.minor).\(v.patch)")
        XCTAssertGreaterThanOrEqual(v.major * 100 + v.minor, 402, "heartbeats need libzmq >= 4.2")
    }

    func testRouterDealerRoundTripWithIdentitiesAndEmptyFrame() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try boundRouter(context)
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"))
        XCTAssertFalse(endpoint.hasSuffix(":*"), "lastEndpoint must resolve the ephemeral port")

        let worker = try connectedDealer(context, to: endpoint, identity: "worker-1")
        try worker.send([[UInt8]("header"), [], [UInt8]("payload")])

        let request = try XCTUnwrap(router.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(request.map(\.bytes), [[UInt8]("worker-1"), [UInt8]("header"), [], [UInt8]("payload")])
        XCTAssertEqual(request[0].string, "worker-1")
        XCTAssertTrue(request[2].isEmpty)

        // Reply by identity; the DEALER sees the frames without the identity.
        try router.send(frames: [request[0], ZMQFrame("reply"), ZMQFrame([]), ZMQFrame([1, 2, 3])])
        let reply = try XCTUnwrap(worker.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(reply, [ZMQFrame("reply"), ZMQFrame([]), ZMQFrame([1, 2, 3])])

        // A DEALER without an identity gets a generated one: 5 bytes, first byte 0.
        let anonymous = try connectedDealer(context, to: endpoint)
        try anonymous.send([[UInt8]("hi")])
        let fromAnonymous = try XCTUnwrap(router.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(fromAnonymous.count, 2)
        XCTAssertEqual(fromAnonymous[0].count, 5)
        XCTAssertEqual(fromAnonymous[0].bytes.first, 0)
        XCTAssertEqual(fromAnonymous[1].string, "hi")
    }

    func testSixtyFourMebibyteFrameRoundTripWithoutCopies() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try boundRouter(context)
        let worker = try connectedDealer(context, to: endpoint, identity: "w")

        let size = 64 * 1024 * 1024
        let tensor = pseudoRandomFrame(count: size, seed: 0x1234_5678_9ABC_DEF0)
        try worker.send(frames: [ZMQFrame("tensor"), tensor])

        let received = try XCTUnwrap(router.receive(timeoutMilliseconds: 4000))
        XCTAssertEqual(received.count, 3)
        XCTAssertEqual(received[1].string, "tensor")
        XCTAssertEqual(received[2].count, size)
        XCTAssertTrue(received[2] == tensor, "64 MiB frame differs after the round trip")
        guard case .buffer = received[2].storage else {
            return XCTFail("a large received frame should keep libzmq's buffer, not a copy")
        }

        // Forward the received frame as is (no copy) and compare again on the other side.
        try router.send(frames: [received[0], received[2]])
        let echoed = try XCTUnwrap(worker.receive(timeoutMilliseconds: 4000))
        XCTAssertEqual(echoed.count, 1)
        XCTAssertTrue(echoed[0] == tensor, "64 MiB frame differs after being forwarded")
        echoed[0].withUnsafeBytes { bytes in
            XCTAssertEqual(bytes.count, size)
            XCTAssertEqual(Int(bitPattern: bytes.baseAddress) % 8, 0, "received buffers are 8-byte aligned")
        }

        // The [UInt8] path (one copy at send) with a frame just above the zero-copy threshold.
        let array = (0..<(ZMQFrame.zeroCopyThreshold + 7)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try worker.send([array])
        let viaArray = try XCTUnwrap(router.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(viaArray[1].bytes, array)
    }

    func testReceiveTimeoutReturnsNilInTime() throws {
        let context = try ZMQContext()
        let (router, _) = try boundRouter(context)

        let (message, seconds) = try elapsedSeconds { try router.receive(timeoutMilliseconds: 200) }
        XCTAssertNil(message)
        XCTAssertGreaterThanOrEqual(seconds, 0.19)
        XCTAssertLessThan(seconds, 0.4, "timeout should return within ~2x the timeout")

        let (immediate, immediateSeconds) = try elapsedSeconds { try router.receive(timeoutMilliseconds: 0) }
        XCTAssertNil(immediate)
        XCTAssertLessThan(immediateSeconds, 0.1)
    }

    func testPollerReportsWhichSocketsAreReadable() throws {
        let context = try ZMQContext()
        let a = try ZMQSocket(context: context, type: .pair)
        let b = try ZMQSocket(context: context, type: .pair)
        try a.bind("inproc://poll-a")
        try b.bind("inproc://poll-b")
        let toA = try ZMQSocket(context: context, type: .pair)
        let toB = try ZMQSocket(context: context, type: .pair)
        try toA.connect("inproc://poll-a")
        try toB.connect("inproc://poll-b")

        var poller = ZMQPoller()
        XCTAssertEqual(poller.add(a, events: .readable), 0)
        XCTAssertEqual(poller.add(b, events: .readable), 1)

        let (nothing, seconds) = try elapsedSeconds { try poller.poll(timeoutMilliseconds: 100) }
        XCTAssertEqual(nothing, [])
        XCTAssertGreaterThanOrEqual(seconds, 0.09)

        try toB.send([[UInt8]("b")])
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 1000), [1])

        try toA.send([[UInt8]("a")])
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 1000), [0, 1])
        let events = try poller.pollEvents(timeoutMilliseconds: 0)
        XCTAssertEqual(events.map(\.index), [0, 1])
        XCTAssertEqual(events.map(\.events), [.readable, .readable])

        XCTAssertEqual(try poller.socket(at: 0).receive(timeoutMilliseconds: 0)?.first?.string, "a")
        XCTAssertEqual(try poller.socket(at: 1).receive(timeoutMilliseconds: 0)?.first?.string, "b")
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), [])

        // A closed socket is an error, not "poll file descriptor 0".
        b.close()
        XCTAssertEqual(zmqError { _ = try poller.poll(timeoutMilliseconds: 0) }?.code, ENOTSOCK)
    }

    func testRouterMandatoryThrowsHostUnreachableForUnknownIdentity() throws {
        let context = try ZMQContext()
        let (router, _) = try boundRouter(context)

        // Default: silently dropped.
        try router.send([[UInt8]("nobody"), [UInt8]("lost")])

        try router.setRouterMandatory(true)
        let error = zmqError { try router.send([[UInt8]("nobody"), [UInt8]("x")]) }
        XCTAssertEqual(error?.code, EHOSTUNREACH)
        XCTAssertEqual(error?.isHostUnreachable, true)
        XCTAssertEqual(error?.description, "zmq_msg_send(frame 0 of 2): Host unreachable")
    }

    func testRouterHighWaterMarkDropsSilentlyUnlessMandatory() throws {
        for mandatory in [false, true] {
            let context = try ZMQContext()
            let router = try ZMQSocket(context: context, type: .router)
            try router.setSendHighWaterMark(5)
            try router.setRouterMandatory(mandatory)
            try router.bind("inproc://hwm")
            let worker = try ZMQSocket(context: context, type: .dealer)
            try worker.setReceiveHighWaterMark(5)
            try worker.setIdentity([UInt8]("w"))
            try worker.connect("inproc://hwm")
            try worker.send([[UInt8]("ready")])
            XCTAssertNotNil(try router.receive(timeoutMilliseconds: 1000))

            var refused = 0
            for index in 0..<50 {
                do {
                    try router.send([[UInt8]("w"), [UInt8(index)]], dontWait: true)
                } catch {
                    XCTAssertTrue(error.isAgain, "\(error)")
                    refused += 1
                }
            }
            var delivered: [UInt8] = []
            while let message = try worker.receive(timeoutMilliseconds: 100) { delivered.append(message[0].bytes[0]) }
            // inproc: the pipe holds SNDHWM + RCVHWM = 10 messages; the oldest ones arrive.
            XCTAssertEqual(delivered, Array(0..<10), "mandatory: \(mandatory)")
            XCTAssertEqual(refused, mandatory ? 40 : 0, "without ROUTER_MANDATORY the overflow vanishes silently")
        }
    }

    func testMaxMessageSizeDropsOffenderButNotWellBehavedPeers() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try boundRouter(context) { try $0.setMaxMessageSize(1024) }
        XCTAssertEqual(try router.int64Option(ZMQ_MAXMSGSIZE), 1024)
        let offender = try ZMQSocket(context: context, type: .dealer)
        try offender.setIdentity([UInt8]("bad"))
        try offender.setReconnectInterval(milliseconds: 50)
        try offender.connect(endpoint)
        let good = try connectedDealer(context, to: endpoint, identity: "good")

        try offender.send([[UInt8](repeating: 7, count: 4096)])
        try good.send([[UInt8]("hello")])

        let first = try XCTUnwrap(router.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(first.map(\.bytes), [[UInt8]("good"), [UInt8]("hello")])
        XCTAssertNil(try router.receive(timeoutMilliseconds: 500), "the oversized frame must not be delivered")

        // The limit applies per frame: 3 x 800 bytes > 1024 in total still passes.
        try good.send(Array(repeating: [UInt8](repeating: 1, count: 800), count: 3))
        let multipart = try XCTUnwrap(router.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(multipart.map(\.count), [4, 800, 800, 800])

        // Only the connection was dropped: the offender reconnects and small messages get through.
        try offender.send([[UInt8]("sorry")])
        let afterReconnect = try XCTUnwrap(router.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(afterReconnect.map(\.bytes), [[UInt8]("bad"), [UInt8]("sorry")])
    }

    func testBindToAddressInUseNamesTheAddress() throws {
        let context = try ZMQContext()
        let (first, endpoint) = try boundRouter(context)
        let second = try ZMQSocket(context: context, type: .router)
        // `first` must stay alive: a released socket is closed and its port freed.
        let error = try withExtendedLifetime(first) { try XCTUnwrap(zmqError { try second.bind(endpoint) }) }
        XCTAssertEqual(error.code, EADDRINUSE)
        XCTAssertTrue(error.isAddressInUse)
        XCTAssertEqual(error.operation, "zmq_bind(\(endpoint))")
        XCTAssertTrue(error.description.contains(endpoint), error.description)
        XCTAssertTrue(error.description.hasSuffix("Address already in use"), error.description)
    }

    func testDealerConnectedBeforeRouterBindsDeliversOnceBound() throws {
        let context = try ZMQContext()
        let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"

        let worker = try ZMQSocket(context: context, type: .dealer)
        try worker.setIdentity([UInt8]("early"))
        try worker.setReconnectInterval(milliseconds: 50, maxMilliseconds: 200)
        try worker.connect(endpoint)
        try worker.send([[UInt8]("queued before bind")])
        Thread.sleep(forTimeInterval: 0.2)  // a few refused connection attempts

        let router = try ZMQSocket(context: context, type: .router)
        try router.bind(endpoint)
        let message = try XCTUnwrap(router.receive(timeoutMilliseconds: 3000))
        XCTAssertEqual(message.map(\.bytes), [[UInt8]("early"), [UInt8]("queued before bind")])
    }

    func testImmediateDealerWithoutPeerRefusesToQueue() throws {
        let context = try ZMQContext()
        let client = try ZMQSocket(context: context, type: .dealer)
        try client.setImmediate(true)
        try client.connect("tcp://127.0.0.1:1")  // nothing listens on port 1
        XCTAssertEqual(zmqError { try client.send([[UInt8]("req")], dontWait: true) }?.isAgain, true)

        try client.setSendTimeout(milliseconds: 100)
        let (error, seconds) = elapsedSeconds { zmqError { try client.send([[UInt8]("req")]) } }
        XCTAssertEqual(error?.isAgain, true)
        XCTAssertLessThan(seconds, 1)
    }

    func testRouterHandoverLetsANewConnectionTakeOverAnIdentity() throws {
        for handover in [false, true] {
            let context = try ZMQContext()
            let (router, endpoint) = try boundRouter(context) { try $0.setRouterHandover(handover) }
            let old = try connectedDealer(context, to: endpoint, identity: "w")
            try old.send([[UInt8]("old")])
            XCTAssertEqual(try router.receive(timeoutMilliseconds: 2000)?.last?.string, "old")

            let new = try connectedDealer(context, to: endpoint, identity: "w")
            try new.send([[UInt8]("new")])
            let fromNew = try router.receive(timeoutMilliseconds: handover ? 2000 : 500)
            try router.send([[UInt8]("w"), [UInt8]("to-w")])
            if handover {
                XCTAssertEqual(fromNew?.map(\.bytes), [[UInt8]("w"), [UInt8]("new")])
                XCTAssertEqual(try new.receive(timeoutMilliseconds: 2000)?.first?.string, "to-w")
                XCTAssertNil(try old.receive(timeoutMilliseconds: 200))
            } else {
                XCTAssertNil(fromNew, "without handover a duplicate identity is ignored")
                XCTAssertEqual(try old.receive(timeoutMilliseconds: 2000)?.first?.string, "to-w")
                XCTAssertNil(try new.receive(timeoutMilliseconds: 200))
            }
        }
    }

    func testOptionsAreApplied() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        XCTAssertEqual(try socket.intOption(ZMQ_LINGER), 0, "wrapper default linger")
        try socket.setLinger(milliseconds: 250)
        try socket.setSendHighWaterMark(7)
        try socket.setReceiveHighWaterMark(9)
        try socket.setHeartbeat(intervalMilliseconds: 1000, timeoutMilliseconds: 3000, ttlMilliseconds: 6000)
        try socket.setReconnectInterval(milliseconds: 100, maxMilliseconds: 5000)
        XCTAssertEqual(try socket.intOption(ZMQ_LINGER), 250)
        XCTAssertEqual(try socket.intOption(ZMQ_SNDHWM), 7)
        XCTAssertEqual(try socket.intOption(ZMQ_RCVHWM), 9)
        XCTAssertEqual(try socket.intOption(ZMQ_HEARTBEAT_IVL), 1000)
        XCTAssertEqual(try socket.intOption(ZMQ_HEARTBEAT_TIMEOUT), 3000)
        XCTAssertEqual(try socket.intOption(ZMQ_HEARTBEAT_TTL), 6000)
        XCTAssertEqual(try socket.intOption(ZMQ_RECONNECT_IVL_MAX), 5000)

        XCTAssertEqual(zmqError { try socket.setLinger(milliseconds: Int(Int32.max) + 1) }?.code, EINVAL)
        XCTAssertEqual(zmqError { try socket.setIdentity([]) }?.code, EINVAL)
        XCTAssertEqual(zmqError { try socket.setHeartbeat(intervalMilliseconds: 1000, ttlMilliseconds: 7_000_000) }?.code, EINVAL)
    }

    func testHeartbeatingConnectionKeepsWorking() throws {
        let context = try ZMQContext()
        let (router, endpoint) = try boundRouter(context) {
            try $0.setHeartbeat(intervalMilliseconds: 50, timeoutMilliseconds: 200)
        }
        let worker = try ZMQSocket(context: context, type: .dealer)
        try worker.setHeartbeat(intervalMilliseconds: 50, timeoutMilliseconds: 200, ttlMilliseconds: 500)
        try worker.setIdentity([UInt8]("hb"))
        try worker.connect(endpoint)
        try worker.send([[UInt8]("one")])
        XCTAssertEqual(try router.receive(timeoutMilliseconds: 2000)?.last?.string, "one")
        // Several heartbeat intervals with no application traffic.
        XCTAssertNil(try router.receive(timeoutMilliseconds: 400))
        try router.send([[UInt8]("hb"), [UInt8]("two")], dontWait: true)
        XCTAssertEqual(try worker.receive(timeoutMilliseconds: 2000)?.first?.string, "two")
    }

    func testMisuseIsReportedAsErrors() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        XCTAssertEqual(zmqError { try socket.send(frames: []) }?.code, EINVAL)
        XCTAssertEqual(zmqError { try socket.connect("bogus://x") }?.code, EPROTONOSUPPORT)
        XCTAssertNil(socket.lastEndpoint)

        socket.close()
        socket.close()  // idempotent
        XCTAssertTrue(socket.isClosed)
        XCTAssertEqual(zmqError { try socket.send([[1]]) }?.code, ENOTSOCK)
        XCTAssertEqual(zmqError { _ = try socket.receive(timeoutMilliseconds: 0) }?.code, ENOTSOCK)
        XCTAssertEqual(zmqError { try socket.bind("inproc://x") }?.operation, "zmq_bind(inproc://x)")
        XCTAssertEqual(zmqError { _ = try ZMQContext(ioThreads: -1) }?.code, EINVAL)
    }

    func testClosingSocketsBeforeContextDoesNotHang() throws {
        weak var weakContext: ZMQContext?
        let (_, seconds) = try elapsedSeconds {
            // Explicit close, then the context goes.
            do {
                let context = try ZMQContext()
                weakContext = context
                let (router, endpoint) = try boundRouter(context)
                let worker = try connectedDealer(context, to: endpoint, identity: "w")
                try worker.send([[UInt8]("x")])
                _ = try router.receive(timeoutMilliseconds: 2000)
                // Undeliverable messages: with libzmq's default linger (-1) these would make
                // zmq_ctx_term wait forever.
                let stranded = try ZMQSocket(context: context, type: .dealer)
                try stranded.connect("tcp://127.0.0.1:1")
                for _ in 0..<10 { try stranded.send([[UInt8](repeating: 1, count: 1000)]) }
                worker.close()
                router.close()
                stranded.close()
            }
            XCTAssertNil(weakContext, "context should be terminated once its sockets are gone")

            // Implicit: release the context reference first; the sockets keep it alive.
            var socket: ZMQSocket?
            do {
                let context = try ZMQContext()
                weakContext = context
                socket = try ZMQSocket(context: context, type: .dealer)
                try socket?.connect("tcp://127.0.0.1:1")
                try socket?.send([[UInt8]("pending")])
            }
            XCTAssertNotNil(weakContext, "a socket must keep its context alive")
            socket = nil
            XCTAssertNil(weakContext)
        }
        XCTAssertLessThan(seconds, 5)
    }

    func testContextShutdownWakesABlockedReceive() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .router)
        try socket.bind("inproc://shutdown")
        let done = expectation(description: "receive returned")
        let result = LockedBox<ZMQError?>(nil)
        let thread = Thread {
            do throws(ZMQError) {
                _ = try socket.receive()
            } catch {
                result.value = error
            }
            socket.close()
            done.fulfill()
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.1)
        context.shutdown()
        wait(for: [done], timeout: 3)
        XCTAssertEqual(result.value?.isTerminated, true)
        XCTAssertEqual(result.value?.description, "zmq_msg_recv: Context was terminated")
    }
}

/// A value shared between the test thread and a helper thread.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Value
    init(_ value: Value) { _value = value }
    var value: Value {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
}
