import Foundation
import RelBERTCluster
import RelBERTProtocol
import XCTest
import ZeroMQ

/// Random frames and bytes thrown at a real coordinator process: it answers errors, never dies,
/// and keeps serving well-formed requests.
final class CoordinatorFuzzTests: XCTestCase {
    static var binary: URL {
        let products = Bundle.main.executableURL?.deletingLastPathComponent()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products.appendingPathComponent("relbert"),
                          products.deletingLastPathComponent().appendingPathComponent("relbert")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    func testCoordinatorSurvivesRandomMessages() throws {
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 20000 ... 60000))"
        let coordinator = Process()
        coordinator.executableURL = Self.binary
        coordinator.arguments = ["coordinator", "--bind", endpoint]
        coordinator.standardError = FileHandle.nullDevice
        try coordinator.run()
        defer { coordinator.terminate(); coordinator.waitUntilExit() }

        let client = try ClusterClient(endpoint: endpoint)
        client.timeout = .seconds(5)
        _ = try client.call(Method.list, Relbert_V1_ListRequest())   // up and serving

        var generator = SystemRandomNumberGenerator()
        func bytes(_ count: Int) -> [UInt8] { (0 ..< count).map { _ in UInt8.random(in: 0 ... 255, using: &generator) } }
        let methods = [Method.ready, Method.heartbeat, Method.load, Method.forward, Method.backward, Method.update,
                       Method.submit, Method.status, Method.cancel, Method.fetch, "", "x.Y", String(repeating: "m", count: 300)]
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.connect(endpoint)
        var sent = 0, answered = 0, errors = 0
        for round in 0 ..< 600 {
            var frames: [ZMQFrame]
            switch round % 4 {
            case 0:  // raw garbage, 1-5 frames
                frames = (0 ..< Int.random(in: 1 ... 5)).map { _ in ZMQFrame(bytes(Int.random(in: 0 ... 64))) }
            case 1:  // a valid header, a garbage body and tensors
                var header = Relbert_V1_Header()
                header.version = UInt32.random(in: 0 ... 2)
                header.method = methods.randomElement()!
                header.requestID = UInt64(round)
                header.isReply = Bool.random()
                frames = [ZMQFrame(try header.serializedData()), ZMQFrame(bytes(Int.random(in: 0 ... 200)))]
                    + (0 ..< Int.random(in: 0 ... 20)).map { _ in ZMQFrame(bytes(Int.random(in: 0 ... 16))) }
            case 2:  // a well-formed submit of nonsense
                var submit = Relbert_V1_SubmitRequest()
                submit.configurationJson = String(decoding: bytes(20), as: UTF8.self)
                submit.modelDirectory = "/nonexistent"
                frames = Envelope(method: Method.submit, requestID: UInt64(round), message: submit).frames
            default:  // a header made of random bytes that happens to parse, or not
                frames = [ZMQFrame(bytes(Int.random(in: 1 ... 40))), ZMQFrame([])]
            }
            try socket.send(frames: frames)
            sent += 1
            while let reply = try socket.receive(timeoutMilliseconds: 0) {
                answered += 1
                if let envelope = try? Envelope.parse(reply), !envelope.isOK { errors += 1 }
            }
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, let reply = try socket.receive(timeoutMilliseconds: 200) {
            answered += 1
            if let envelope = try? Envelope.parse(reply), !envelope.isOK { errors += 1 }
        }
        XCTAssertTrue(coordinator.isRunning, "the coordinator died")
        XCTAssertGreaterThan(answered, sent / 2, "most messages get an answer")
        XCTAssertGreaterThan(errors, sent / 3, "and the answers are errors")

        // Still serving: a well-formed request gets OK, and an unknown job NOT_FOUND.
        let list = try client.call(Method.list, Relbert_V1_ListRequest()).body(as: Relbert_V1_ListReply.self)
        XCTAssertTrue(list.jobs.isEmpty)
        var status = Relbert_V1_StatusRequest()
        status.jobID = "nope"
        XCTAssertThrowsError(try client.call(Method.status, status)) { error in
            XCTAssertEqual((error as? ProtocolError)?.status, .notFound)
        }
    }
}
