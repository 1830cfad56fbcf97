import Foundation
import RelBERT
import RelBERTCluster
import RelBERTProtocol
import XCTest
import ZeroMQ

/// Serving end to end: a real `relbert serve` and `relbert worker` processes on loopback sockets,
/// the default model, clients over the binary protocol.
final class ServeCommandTests: XCTestCase {
    let minilm = CLIRunner.root.appendingPathComponent("models/all-MiniLM-L6-v2")

    func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A server with `workers` worker processes of its own, up and healthy.
    func startServer(_ extra: [String] = [], workers: Int = 2) throws -> (LocalServices, [Process]) {
        let cluster = try LocalServices(state: try temporary())
        try cluster.startCoordinator(["--model", minilm.path] + extra, command: "serve")
        let processes = try (0 ..< workers).map { _ in try cluster.startWorker() }
        try Self.waitUntilHealthy(cluster)
        return (cluster, processes)
    }

    /// Polls serve.Health until it answers OK; returns that answer.
    @discardableResult
    static func waitUntilHealthy(_ cluster: LocalServices, timeout: Duration = .seconds(60)) throws -> Relbert_V1_HealthReply {
        let client = try ClusterClient(endpoint: cluster.endpoint)
        client.timeout = .seconds(2)
        client.retries = 0
        let deadline = ContinuousClock.now + timeout
        var last: Error?
        while ContinuousClock.now < deadline {
            do {
                return try client.call(Method.serveHealth, Relbert_V1_HealthRequest()).body(as: Relbert_V1_HealthReply.self)
            } catch {
                last = error
                usleep(100_000)
            }
        }
        XCTFail("the server did not become healthy: \(String(describing: last))\n\(cluster.coordinatorLog())")
        throw TestFailure("not healthy")
    }

    func client(_ cluster: LocalServices, timeout: Duration = .seconds(30)) throws -> ClusterClient {
        let client = try ClusterClient(endpoint: cluster.endpoint)
        client.timeout = timeout
        client.retries = 0
        return client
    }

    static let pairs: [WordPair] = [
        ("paris", "france"), ("puppy", "dog"), ("hammer", "tool"), ("hot", "cold"), ("wheel", "bicycle"),
        ("einstein", "physicist"), ("cafe", "coffee"), ("writer", "pen"), ("seed", "tree"), ("tokyo", "japan"),
        ("kitten", "cat"), ("saw", "carpenter"), ("up", "down"), ("page", "book"), ("mozart", "composer"),
        ("bakery", "bread"), ("painter", "brush"), ("egg", "bird"), ("rome", "italy"), ("calf", "cow"),
        ("knife", "cutlery"), ("happy", "sad"), ("engine", "car"), ("madrid", "spain"),
    ].map { WordPair($0.0, $0.1) }

    static func embedRequest(_ pairs: [WordPair], template: String = "", pooling: String = "") -> Relbert_V1_EmbedRequest {
        var request = Relbert_V1_EmbedRequest()
        request.pairs = pairs.map { pair in
            var p = Relbert_V1_Pair()
            p.head = pair.head
            p.tail = pair.tail
            return p
        }
        request.template = template
        request.pooling = pooling
        return request
    }

    static func vectors(_ reply: Envelope) throws -> (body: Relbert_V1_EmbedReply, rows: [[Float]]) {
        let body = try reply.body(as: Relbert_V1_EmbedReply.self)
        let shape = body.tensors[0].shape.map(Int.init)
        let values = FloatBuffer(count: shape[0] * shape[1])
        TensorFrames.readFloats(reply.tensors[0], dtype: .f32, into: values.pointer, count: values.count)
        let rows = (0 ..< shape[0]).map { Array(UnsafeBufferPointer(start: values.pointer + $0 * shape[1], count: shape[1])) }
        return (body, rows)
    }

    func offline(_ model: URL, template: String? = nil, pooling: Pooling? = nil) throws -> RelationEmbedder {
        let loaded = try PretrainedModel.load(from: model)
        return try RelationEmbedder(model: loaded, template: PromptTemplate(template ?? loaded.config.relbert?.template ?? "d"),
                                    pooling: pooling ?? Pooling(rawValue: loaded.config.relbert?.aggregationMode ?? "") ?? .averageNoMask,
                                    threads: 1)
    }

    /// The vector of a `--format tsv` line (head, tail, then the values).
    static func tsvVector(_ text: String) -> [Float] {
        text.split(separator: "\t").dropFirst(2).compactMap { Float($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func maxDifference(_ a: [Float], _ b: ArraySlice<Float>) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    // MARK: - Answers

    /// Embed, Analogy, Nearest, Info and Health over two workers equal what one process computes.
    func testServedAnswersEqualOfflineOnes() throws {
        let indexFile = try temporary().appendingPathComponent("index.tsv")
        try Self.pairs.map { "\($0.head)\t\($0.tail)\ttest" }.joined(separator: "\n").write(to: indexFile, atomically: true, encoding: .utf8)
        let (cluster, _) = try startServer(["--index", indexFile.path, "--token-budget", "128"])
        defer { cluster.stopAll() }
        let client = try client(cluster)
        let embedder = try offline(minilm)
        let expected = try embedder.embed(Self.pairs)

        // Embed: 24 pairs over several batches (budget 128 tokens) and both workers, back in order.
        let (body, rows) = try Self.vectors(try client.call(Method.serveEmbed, Self.embedRequest(Self.pairs)))
        XCTAssertEqual(rows.count, Self.pairs.count)
        for (i, row) in rows.enumerated() {
            XCTAssertLessThan(Self.maxDifference(row, expected.row(i)), 1e-5, "\(Self.pairs[i])")
        }
        XCTAssertEqual(body.model.generation, 1)
        XCTAssertEqual(body.model.checksum.count, 16)
        XCTAssertEqual(body.model.pooling, "average_no_mask")
        XCTAssertGreaterThan(body.timings.computeSeconds, 0)
        XCTAssertGreaterThanOrEqual(body.timings.totalSeconds, body.timings.queueSeconds)

        // Another template and pooling, per request.
        let masked = try offline(minilm, template: "a", pooling: .mask).embed(Array(Self.pairs.prefix(3)))
        let (_, maskedRows) = try Self.vectors(try client.call(Method.serveEmbed, Self.embedRequest(Array(Self.pairs.prefix(3)), template: "a", pooling: "mask")))
        for i in 0 ..< 3 { XCTAssertLessThan(Self.maxDifference(maskedRows[i], masked.row(i)), 1e-5) }

        // Analogy: the cosines of the offline vectors, the best among them.
        var analogy = Relbert_V1_AnalogyRequest()
        analogy.query = Self.embedRequest([Self.pairs[0]]).pairs[0]
        analogy.candidates = Self.embedRequest(Array(Self.pairs[1 ... 9])).pairs
        let answer = try client.call(Method.serveAnalogy, analogy).body(as: Relbert_V1_AnalogyReply.self)
        let cosines = (1 ... 9).map { Similarity.cosine(expected.row(0), expected.row($0)) }
        XCTAssertEqual(answer.scores.count, 9)
        for (served, computed) in zip(answer.scores, cosines) { XCTAssertEqual(served, computed, accuracy: 1e-5) }
        XCTAssertEqual(Int(answer.best), cosines.indices.max { cosines[$0] < cosines[$1] })

        // Nearest: once the index is built, the k best of the other pairs, best first.
        var info = Relbert_V1_InfoReply()
        let deadline = ContinuousClock.now + .seconds(60)
        repeat {
            info = try client.call(Method.serveInfo, Relbert_V1_InfoRequest()).body(as: Relbert_V1_InfoReply.self)
            if !info.indexReady { usleep(100_000) }
        } while !info.indexReady && ContinuousClock.now < deadline
        XCTAssertTrue(info.indexReady)
        XCTAssertEqual(info.indexSize, UInt64(Self.pairs.count))
        var nearest = Relbert_V1_NearestRequest()
        nearest.pair = analogy.query
        nearest.k = 5
        let found = try client.call(Method.serveNearest, nearest).body(as: Relbert_V1_NearestReply.self)
        let ranked = (1 ..< Self.pairs.count).map { ($0, Similarity.cosine(expected.row(0), expected.row($0))) }
            .sorted { $0.1 > $1.1 }.prefix(5)
        XCTAssertEqual(found.neighbours.map { "\($0.pair.head):\($0.pair.tail)" },
                       ranked.map { "\(Self.pairs[$0.0].head):\(Self.pairs[$0.0].tail)" })
        for (neighbour, (_, score)) in zip(found.neighbours, ranked) { XCTAssertEqual(neighbour.score, score, accuracy: 1e-4) }
        XCTAssertEqual(found.neighbours.first?.source, "test")

        // Info and Health.
        XCTAssertEqual(info.dimension, 384)
        XCTAssertEqual(info.layers, 6)
        XCTAssertEqual(info.workersAlive, 2)
        let health = try client.call(Method.serveHealth, Relbert_V1_HealthRequest()).body(as: Relbert_V1_HealthReply.self)
        XCTAssertLessThan(health.maxAbsDifference, 1e-4)
        XCTAssertEqual(health.probe.head, "paris")

        // The command-line client prints what relbert embed prints.
        let served = try CLIRunner.run(["query", "embed", "--server", cluster.endpoint, "--format", "tsv", "paris", "france"])
        XCTAssertEqual(served.status, 0, served.stderr)
        let values = Self.tsvVector(served.stdout)
        XCTAssertEqual(values.count, 384)
        XCTAssertLessThan(Self.maxDifference(values, expected.row(0)), 1e-5)
    }

    // MARK: - Bad requests

    /// Malformed, oversized, wrong-version and nonsensical requests get errors with the right
    /// status, echoing the request id; the server keeps serving.
    func testBadRequestsGetErrors() throws {
        let (cluster, _) = try startServer(["--index", "none", "--max-pairs", "16"], workers: 1)
        defer { cluster.stopAll() }
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.connect(cluster.endpoint)
        var nextID: UInt64 = 100
        func exchange(_ frames: [ZMQFrame]) throws -> Envelope {
            try socket.send(frames: frames)
            guard let reply = try socket.receive(timeoutMilliseconds: 10_000) else { throw TestFailure("no reply") }
            return try Envelope.parse(reply)
        }
        func status(_ method: String, _ message: some SwiftProtobufMessage, version: UInt32 = 1) throws -> (Relbert_V1_StatusCode, String, UInt64) {
            nextID += 1
            var envelope = Envelope(method: method, requestID: nextID, message: message)
            envelope.header.version = version
            let reply = try exchange(envelope.frames)
            return (reply.header.status, reply.header.statusMessage, reply.header.requestID)
        }

        var (code, message, id) = try status(Method.serveEmbed, Self.embedRequest([Self.pairs[0]]), version: 2)
        XCTAssertEqual(code, .failedPrecondition, message)
        XCTAssertEqual(id, nextID)
        (code, message, _) = try status(Method.serveEmbed, Self.embedRequest(Array(Self.pairs.prefix(17))))
        XCTAssertEqual(code, .invalidArgument)
        XCTAssertTrue(message.contains("at most 16"), message)
        (code, message, _) = try status(Method.serveEmbed, Self.embedRequest([WordPair("paris", " ")]))
        XCTAssertEqual(code, .invalidArgument)
        XCTAssertTrue(message.contains("empty word"), message)
        (code, message, _) = try status(Method.serveEmbed, Self.embedRequest([Self.pairs[0]], pooling: "max"))
        XCTAssertEqual(code, .invalidArgument)
        (code, message, _) = try status(Method.serveEmbed, Self.embedRequest([Self.pairs[0]], template: "<subj> and <obj>", pooling: "mask"))
        XCTAssertEqual(code, .invalidArgument)
        XCTAssertTrue(message.contains("<mask>"), message)
        (code, message, _) = try status(Method.serveEmbed, Self.embedRequest([WordPair(String(repeating: "x", count: 300), "y")]))
        XCTAssertEqual(code, .invalidArgument)
        (code, message, _) = try status(Method.serveEmbed, Relbert_V1_EmbedRequest())
        XCTAssertEqual(code, .invalidArgument)
        var nearest = Relbert_V1_NearestRequest()
        nearest.pair = Self.embedRequest([Self.pairs[0]]).pairs[0]
        (code, message, _) = try status(Method.serveNearest, nearest)
        XCTAssertEqual(code, .failedPrecondition, message)   // started with --index none
        nearest.k = 1000
        (code, _, _) = try status(Method.serveNearest, nearest)
        XCTAssertEqual(code, .invalidArgument)
        (code, _, _) = try status(Method.serveAnalogy, Relbert_V1_AnalogyRequest())
        XCTAssertEqual(code, .invalidArgument)
        (code, _, _) = try status("serve.Translate", Relbert_V1_InfoRequest())
        XCTAssertEqual(code, .unimplemented)
        var reload = Relbert_V1_ReloadRequest()
        reload.modelDirectory = "/nonexistent/model"
        (code, message, _) = try status(Method.serveReload, reload)
        XCTAssertEqual(code, .failedPrecondition)
        XCTAssertTrue(message.contains("still serving"), message)

        // A body that is not the method's message, and a header that is not a header.
        nextID += 1
        var garbage = Envelope(method: Method.serveEmbed, requestID: nextID, message: Relbert_V1_InfoRequest())
        garbage.body = Data([0xff, 0xff, 0xff, 0x0f, 0x01])
        XCTAssertEqual(try exchange(garbage.frames).header.status, .invalidArgument)
        XCTAssertEqual(try exchange([ZMQFrame([0x42, 0x13, 0x37]), ZMQFrame([])]).header.status, .invalidArgument)
        // A message far over the body limit (64 MiB) is refused without being parsed.
        nextID += 1
        var huge = Envelope(method: Method.serveEmbed, requestID: nextID, message: Relbert_V1_InfoRequest())
        huge.body = Data(count: 65 << 20)
        XCTAssertEqual(try exchange(huge.frames).header.status, .resourceExhausted)

        // Still serving.
        let (_, rows) = try Self.vectors(try client(cluster).call(Method.serveEmbed, Self.embedRequest([Self.pairs[0]])))
        XCTAssertEqual(rows.count, 1)
    }

    /// Over the queue bound a request gets RESOURCE_EXHAUSTED at once; a request whose deadline
    /// passes in the queue gets DEADLINE_EXCEEDED; the ones accepted are answered.
    func testQueueBoundAndDeadlines() throws {
        let (cluster, _) = try startServer(["--index", "none", "--queue-limit", "64"], workers: 1)
        defer { cluster.stopAll() }
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.connect(cluster.endpoint)
        let sixteen = Array(Self.pairs.prefix(16))
        var sentAt: [UInt64: ContinuousClock.Instant] = [:]
        for id in UInt64(1) ... 12 {
            try socket.send(frames: Envelope(method: Method.serveEmbed, requestID: id, message: Self.embedRequest(sixteen)).frames)
            sentAt[id] = .now
        }
        var exhausted = 0, answered = 0
        for _ in 1 ... 12 {
            guard let frames = try socket.receive(timeoutMilliseconds: 30_000) else { XCTFail("a request got no reply"); break }
            let reply = try Envelope.parse(frames)
            let latency = ContinuousClock.now - sentAt[reply.header.requestID]!
            switch reply.header.status {
            case .resourceExhausted:
                exhausted += 1
                XCTAssertLessThan(latency, .milliseconds(500), "RESOURCE_EXHAUSTED should come at once")
            case .ok: answered += 1
            default: XCTFail("\(reply.header.status): \(reply.header.statusMessage)")
            }
        }
        XCTAssertEqual(answered, 4)   // 4 × 16 pairs fill the bound of 64
        XCTAssertEqual(exhausted, 8)

        // Three big requests ahead of a small one whose deadline is 100 ms away.
        for id in UInt64(21) ... 23 {
            try socket.send(frames: Envelope(method: Method.serveEmbed, requestID: id, message: Self.embedRequest(sixteen)).frames)
        }
        let hurried = Envelope(method: Method.serveEmbed, requestID: 24, message: Self.embedRequest([Self.pairs[0]]),
                               deadline: Date().addingTimeInterval(0.1))
        let sent = ContinuousClock.now
        try socket.send(frames: hurried.frames)
        var statuses: [UInt64: Relbert_V1_StatusCode] = [:]
        while statuses.count < 4, let frames = try socket.receive(timeoutMilliseconds: 30_000) {
            let reply = try Envelope.parse(frames)
            statuses[reply.header.requestID] = reply.header.status
            if reply.header.requestID == 24 { XCTAssertLessThan(ContinuousClock.now - sent, .seconds(1)) }
        }
        XCTAssertEqual(statuses[24], .deadlineExceeded)
        XCTAssertEqual([statuses[21], statuses[22], statuses[23]], [.ok, .ok, .ok])
    }

    // MARK: - Failures and swaps under load

    /// Clients embedding back to back; runs `event` after `after`; returns every reply's model
    /// generation and send time, and the errors.
    func underLoad(_ cluster: LocalServices, clients: Int = 4, seconds: Double = 8, after: Double = 2,
                   event: () throws -> Void) throws -> (replies: [(sent: ContinuousClock.Instant, generation: UInt64, row: [Float])], errors: [String]) {
        let replies = LockedBox<[(sent: ContinuousClock.Instant, generation: UInt64, row: [Float])]>([])
        let errors = LockedBox<[String]>([])
        let start = ContinuousClock.now
        let group = DispatchGroup()
        let endpoint = cluster.endpoint
        for c in 0 ..< clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let client = try ClusterClient(endpoint: endpoint)
                    client.timeout = .seconds(30)
                    client.retries = 0
                    var n = c
                    while (ContinuousClock.now - start).secondsValue < seconds {
                        let pairs = (0 ..< 6).map { Self.pairs[(n + $0) % Self.pairs.count] }
                        let first = n % Self.pairs.count
                        n += 6
                        let sent = ContinuousClock.now
                        do {
                            let (body, rows) = try Self.vectors(try client.call(Method.serveEmbed, Self.embedRequest(pairs)))
                            replies.mutate { $0.append((sent, body.model.generation, first == 0 ? rows[0] : [])) }
                        } catch {
                            errors.mutate { $0.append("\(error)") }
                        }
                    }
                } catch {
                    errors.mutate { $0.append("\(error)") }
                }
            }
        }
        Thread.sleep(forTimeInterval: after)
        try event()
        group.wait()
        return (replies.value, errors.value)
    }

    /// SIGKILL a worker while clients are being served: its batch is carried again by the other,
    /// and every request is answered.
    func testWorkerKilledDuringServingLosesNoRequest() throws {
        let (cluster, workers) = try startServer(["--index", "none"], workers: 2)
        defer { cluster.stopAll() }
        var killedAt = ContinuousClock.now
        let (replies, errors) = try underLoad(cluster) {
            killedAt = .now
            cluster.killWhileBusy(workers[0])
        }
        XCTAssertEqual(errors, [], cluster.coordinatorLog())
        XCTAssertGreaterThan(replies.filter { $0.sent > killedAt + .seconds(1) }.count, 5, "requests after the kill are answered")
        let log = cluster.coordinatorLog()
        // Noticed by the failed send to it (TCP reset) or by its silence, with a batch in flight.
        XCTAssertTrue(log.contains("unreachable") || log.contains("counted as gone"), log)
        XCTAssertTrue(log.contains("carrying it again"), log)
    }

    /// Swap to another model under load: no request fails; each reply names its model, and every
    /// request sent after the swap was acknowledged gets the new one. A model that does not load is
    /// refused and the current one keeps serving.
    func testModelSwapUnderLoadAndABadModelRefused() throws {
        // The same weights with another prompt and pooling: a different model to a client.
        let other = try temporary().appendingPathComponent("minilm-a-mask")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: minilm.path) where file != "config.json" {
            try FileManager.default.createSymbolicLink(at: other.appendingPathComponent(file), withDestinationURL: minilm.appendingPathComponent(file))
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: minilm.appendingPathComponent("config.json"))) as! [String: Any]
        config["relbert_config"] = ["template": "a", "aggregation_mode": "mask"]
        try JSONSerialization.data(withJSONObject: config).write(to: other.appendingPathComponent("config.json"))
        // A broken one: the config is fine, the weights are cut short.
        let broken = try temporary().appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: minilm.path) where file != "model.safetensors" {
            try FileManager.default.copyItem(at: minilm.appendingPathComponent(file), to: broken.appendingPathComponent(file))
        }
        let weights = try Data(contentsOf: minilm.appendingPathComponent("model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: broken.appendingPathComponent("model.safetensors"))

        let (cluster, _) = try startServer(["--index", "none"], workers: 2)
        defer { cluster.stopAll() }
        var swappedAt = ContinuousClock.now
        let (replies, errors) = try underLoad(cluster, seconds: 10, after: 2) {
            let swap = try CLIRunner.run(["serve", "--reload", other.path, "--server", cluster.endpoint])
            XCTAssertEqual(swap.status, 0, swap.stderr)
            XCTAssertTrue(swap.stdout.contains("generation 2"), swap.stdout)
            swappedAt = .now
            Thread.sleep(forTimeInterval: 2)
            let refused = try CLIRunner.run(["serve", "--reload", broken.path, "--server", cluster.endpoint])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.stderr.contains("FAILED_PRECONDITION"), refused.stderr)
            XCTAssertTrue(refused.stderr.contains("still serving"), refused.stderr)
        }
        XCTAssertEqual(errors, [], cluster.coordinatorLog())
        XCTAssertEqual(Set(replies.map(\.generation)), [1, 2])
        XCTAssertEqual(replies.filter { $0.sent > swappedAt }.map(\.generation).filter { $0 != 2 }, [], "requests after the swap get the new model")
        // The new model's vectors are template a with mask pooling; the old one's were the defaults.
        let newRows = replies.filter { $0.generation == 2 && !$0.row.isEmpty }.map(\.row)
        let oldRows = replies.filter { $0.generation == 1 && !$0.row.isEmpty }.map(\.row)
        let expectedNew = try offline(other).embed([Self.pairs[0]])
        let expectedOld = try offline(minilm).embed([Self.pairs[0]])
        XCTAssertFalse(newRows.isEmpty)
        for row in newRows { XCTAssertLessThan(Self.maxDifference(row, expectedNew.row(0)), 1e-5) }
        for row in oldRows { XCTAssertLessThan(Self.maxDifference(row, expectedOld.row(0)), 1e-5) }
        // Still generation 2 after the refused reload.
        let info = try client(cluster).call(Method.serveInfo, Relbert_V1_InfoRequest()).body(as: Relbert_V1_InfoReply.self)
        XCTAssertEqual(info.model.generation, 2)
        XCTAssertEqual(info.model.pooling, "mask")
    }

    /// A coordinator serves the model of the job it just finished (here the tiny RoBERTa fixture).
    func testFinishedJobIsServed() throws {
        let cluster = try LocalServices(state: try temporary())
        defer { cluster.stopAll() }
        try cluster.startCoordinator()
        _ = try cluster.startWorker()
        let tiny = CLIRunner.root.appendingPathComponent("Tests/Fixtures/tiny-roberta").path
        let id = try cluster.submit(["--model", tiny, "--epochs", "1", "--lr", "1e-3", "--checkpoint-every", "20"])
        let end = try cluster.waitForEnd(id)
        XCTAssertEqual(end["state"] as? String, "succeeded")
        let output = cluster.state.appendingPathComponent("jobs").appendingPathComponent(id).path   // the coordinator's layout
        try Self.waitUntilHealthy(cluster)
        let reply = try client(cluster).call(Method.serveEmbed, Self.embedRequest(Array(Self.pairs.prefix(4))))
        let (body, rows) = try Self.vectors(reply)
        XCTAssertEqual(body.model.jobID, id)
        let expected = try offline(URL(fileURLWithPath: output).appendingPathComponent("model")).embed(Array(Self.pairs.prefix(4)))
        for i in 0 ..< 4 { XCTAssertLessThan(Self.maxDifference(rows[i], expected.row(i)), 1e-5) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class LockedBox<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
    var value: Value { lock.withLock { stored } }
}

import SwiftProtobuf
typealias SwiftProtobufMessage = SwiftProtobuf.Message
