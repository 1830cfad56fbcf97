import Foundation
import XCTest

/// The training cluster end to end: real `relbert coordinator` and `relbert worker` processes on
/// loopback sockets, training the tiny RoBERTa fixture.
final class ClusterCommandTests: XCTestCase {
    let tiny = CLIRunner.root.appendingPathComponent("Tests/Fixtures/tiny-roberta").path

    func job(_ epochs: Int = 1) -> [String] {
        ["--model", tiny, "--epochs", "\(epochs)", "--lr", "1e-3", "--checkpoint-every", "5"]
    }

    func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// N workers compute exactly what N threads compute in one process (same shards, same order of
    /// summation): byte-identical weights. Across worker counts only the summation order differs:
    /// every step's loss agrees within 1e-5 relative, and so do the weights, except the attention
    /// key biases, whose gradient is zero analytically (softmax ignores a shift shared by a row), so
    /// that AdamW turns rounding noise into steps of ±lr there — in PyTorch too.
    func testWorkersComputeWhatOneProcessComputes() throws {
        let reference = try temporary()
        XCTAssertEqual(try CLIRunner.run(["train", "--output", reference.path, "--threads", "1", "--no-eval"] + job()).status, 0)
        let referenceLosses = try TrainingLog.losses(reference)
        let referenceWeights = try Weights(reference.appendingPathComponent("model/model.safetensors"))
        XCTAssertEqual(referenceLosses.count, 79)
        for workers in [1, 2, 3] {
            let cluster = try temporary()
            let result = try CLIRunner.run(["train", "--output", cluster.path, "--workers", "\(workers)", "--no-eval"] + job())
            XCTAssertEqual(result.status, 0, result.stderr)
            let losses = try TrainingLog.losses(cluster)
            XCTAssertEqual(losses.count, referenceLosses.count)
            for (step, (a, b)) in zip(losses, referenceLosses).enumerated() {
                XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "\(workers) worker(s), step \(step + 1)")
            }
            let weights = try Weights(cluster.appendingPathComponent("model/model.safetensors"))
            for name in referenceWeights.names where !name.hasSuffix("attention.self.key.bias") {
                XCTAssertLessThan(weights.relativeDifference(referenceWeights, name), 1e-4, "\(workers) worker(s): \(name)")
            }
            // The same split in one process: exactly the same bytes.
            let local = try temporary()
            XCTAssertEqual(try CLIRunner.run(["train", "--output", local.path, "--threads", "\(workers)", "--no-eval"] + job()).status, 0)
            XCTAssertEqual(try Data(contentsOf: cluster.appendingPathComponent("model/model.safetensors")),
                           try Data(contentsOf: local.appendingPathComponent("model/model.safetensors")),
                           "\(workers) worker(s) vs \(workers) thread(s)")
        }
    }

    /// Streaming the gradients layer by layer changes when the coordinator sums them, not what it
    /// sums: a coordinator told not to stream (one reply per shard after the backward pass) trains
    /// the same bytes as `train --threads 2`, which `train --workers 2`, streaming, matches too (above).
    func testGradientStreamingChangesNothingButTiming() throws {
        let local = try temporary()
        XCTAssertEqual(try CLIRunner.run(["train", "--output", local.path, "--threads", "2", "--no-eval"] + job()).status, 0)
        let cluster = try LocalServices(state: try temporary())
        defer { cluster.stopAll() }
        try cluster.startCoordinator(["--no-gradient-streaming"])
        for _ in 0 ..< 2 { _ = try cluster.startWorker() }
        try cluster.waitForLog("; 2 alive")   // both in from the first step: the same two shards as two threads
        let id = try cluster.submit(job())
        let final = try cluster.waitForEnd(id)
        XCTAssertEqual(final["state"] as? String, "succeeded", "\(final)")
        let fetched = try temporary()
        XCTAssertEqual(try CLIRunner.run(["fetch", id, "--output", fetched.path, "--coordinator", cluster.endpoint]).status, 0)
        XCTAssertEqual(try Data(contentsOf: fetched.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: local.appendingPathComponent("model/model.safetensors")))
        XCTAssertEqual(try TrainingLog.losses(cluster.state.appendingPathComponent("jobs/\(id)")), try TrainingLog.losses(local))
    }

    /// SIGKILL one of three workers mid-job: it is noticed within the heartbeat window, the step is
    /// redone by the others, the job finishes, every step is logged once and the weights are those
    /// of an uninterrupted run (up to summation order).
    func testJobSurvivesAWorkerKilledMidStep() throws {
        let state = try temporary()
        let cluster = try LocalServices(state: state)
        defer { cluster.stopAll() }
        try cluster.startCoordinator()
        let workers = try (0 ..< 3).map { _ in try cluster.startWorker() }
        let id = try cluster.submit(job(3))
        try cluster.waitForStep(id, atLeast: 30)
        cluster.killWhileBusy(workers[1])
        let final = try cluster.waitForEnd(id)
        XCTAssertEqual(final["state"] as? String, "succeeded", "\(final)")
        let log = cluster.coordinatorLog()
        // Noticed by the heartbeats ("counted as gone") or sooner, when a send finds the connection closed.
        XCTAssertTrue(log.contains("counted as gone") || log.contains("unreachable"), log)
        XCTAssertTrue(log.contains("redoing it on the workers left"), log)
        try checkRun(cluster, id, steps: 237)
    }

    /// A worker that joins mid-job receives the weights and the optimizer state, then takes part.
    func testWorkerJoiningLateTakesPart() throws {
        let cluster = try LocalServices(state: try temporary())
        defer { cluster.stopAll() }
        try cluster.startCoordinator()
        _ = try cluster.startWorker()
        let id = try cluster.submit(job(3))
        try cluster.waitForStep(id, atLeast: 20)
        _ = try cluster.startWorker()
        let final = try cluster.waitForEnd(id)
        XCTAssertEqual(final["state"] as? String, "succeeded", "\(final)")
        let log = cluster.coordinatorLog()
        let late = try XCTUnwrap(log.split(separator: "\n").first { $0.contains("weights to worker rank 1") }, log)
        XCTAssertFalse(late.hasSuffix("(optimizer step 0)"), String(late))
        try checkRun(cluster, id, steps: 237)
    }

    /// SIGKILL the coordinator mid-job and start it again on the same state folder: the workers
    /// register again by themselves, the job resumes from its last checkpoint, no step is lost or
    /// applied twice, and the weights are those of an uninterrupted run.
    func testCoordinatorRestartResumesTheJob() throws {
        let state = try temporary()
        let cluster = try LocalServices(state: state)
        defer { cluster.stopAll() }
        try cluster.startCoordinator()
        for _ in 0 ..< 2 { _ = try cluster.startWorker() }
        let id = try cluster.submit(job(3))
        try cluster.waitForStep(id, atLeast: 40)
        cluster.killCoordinator()
        try cluster.startCoordinator()
        let final = try cluster.waitForEnd(id)
        XCTAssertEqual(final["state"] as? String, "succeeded", "\(final)")
        XCTAssertTrue(cluster.coordinatorLog().contains("resuming from its checkpoint"))
        try checkRun(cluster, id, steps: 237)
    }

    /// With CURVE keys, the coordinator accepts only the listed workers and clients.
    func testCurveAcceptsOnlyAuthorizedKeys() throws {
        let state = try temporary()
        let keys = state.appendingPathComponent("keys")
        for name in ["coordinator", "worker", "client", "stranger"] {
            XCTAssertEqual(try CLIRunner.run(["keys", "generate", name, "--dir", keys.path]).status, 0)
        }
        let authorized = keys.appendingPathComponent("authorized")
        try FileManager.default.createDirectory(at: authorized, withIntermediateDirectories: true)
        for name in ["worker", "client"] {
            try FileManager.default.copyItem(at: keys.appendingPathComponent("\(name).pub"), to: authorized.appendingPathComponent("\(name).pub"))
        }
        let cluster = try LocalServices(state: state)
        defer { cluster.stopAll() }
        try cluster.startCoordinator(["--key", keys.appendingPathComponent("coordinator.key").path, "--authorized", authorized.path])
        func client(_ name: String) -> [String] {
            ["--key", keys.appendingPathComponent("\(name).key").path, "--server-key", keys.appendingPathComponent("coordinator.pub").path]
        }
        _ = try cluster.startWorker(client("stranger"))
        _ = try cluster.startWorker(client("worker"))
        cluster.clientArguments = client("client")
        let id = try cluster.submit(job(1))
        let final = try cluster.waitForEnd(id)
        XCTAssertEqual(final["state"] as? String, "succeeded", "\(final)")
        XCTAssertEqual(final["workers_alive"] as? Int, 1, "only the authorized worker joined")
        let log = cluster.coordinatorLog()
        XCTAssertTrue(log.contains("refused a CURVE connection"), log)
        XCTAssertEqual(log.components(separatedBy: "registered (").count - 1, 1, log)

        // A client with an unknown key, or none, gets no answer at all.
        for arguments in [client("stranger"), []] {
            let result = try CLIRunner.run(["jobs", "--coordinator", cluster.endpoint, "--timeout", "0.5"] + arguments)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains("UNAVAILABLE"), result.stderr)
        }
    }

    /// The finished job: fetch its model, compare with a single-process run of the same job.
    func checkRun(_ cluster: LocalServices, _ id: String, steps: Int) throws {
        let fetched = try temporary()
        let fetch = try CLIRunner.run(["fetch", id, "--output", fetched.path, "--coordinator", cluster.endpoint] + cluster.clientArguments)
        XCTAssertEqual(fetch.status, 0, fetch.stderr)
        let output = cluster.state.appendingPathComponent("jobs/\(id)")
        let logged = try TrainingLog.steps(output)
        XCTAssertEqual(logged, Array(1 ... steps), "every step logged exactly once")

        let reference = try temporary()
        XCTAssertEqual(try CLIRunner.run(["train", "--output", reference.path, "--threads", "1", "--no-eval"] + job(3)).status, 0)
        let losses = try TrainingLog.losses(output), referenceLosses = try TrainingLog.losses(reference)
        for (step, (a, b)) in zip(losses, referenceLosses).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-4 * abs(b), "step \(step + 1)")
        }
        let weights = try Weights(fetched.appendingPathComponent("model.safetensors"))
        let expected = try Weights(reference.appendingPathComponent("model/model.safetensors"))
        for name in expected.names where !name.hasSuffix("attention.self.key.bias") {
            XCTAssertLessThan(weights.relativeDifference(expected, name), 1e-3, name)
        }
        for file in ["config.json", "tokenizer.json", "finetuning_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: fetched.appendingPathComponent(file).path), file)
        }
    }
}

/// A coordinator and workers as background processes, logging to files in the state folder.
final class LocalServices {
    let state: URL
    let port = Int.random(in: 20000 ... 60000)
    var endpoint: String { "tcp://127.0.0.1:\(port)" }
    private var coordinator: Process?
    private var workers: [Process] = []
    private var coordinatorLogs: [URL] = []
    /// Extra arguments of client commands (CURVE keys).
    var clientArguments: [String] = []

    init(state: URL) throws { self.state = state }

    func launch(_ arguments: [String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = arguments
        process.currentDirectoryURL = CLIRunner.root
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// `command` is `coordinator`, or `serve` (a coordinator that serves a model from the start).
    func startCoordinator(_ extra: [String] = [], command: String = "coordinator") throws {
        let log = state.appendingPathComponent("coordinator-\(coordinatorLogs.count).log")
        coordinatorLogs.append(log)
        coordinator = try launch([command, "--bind", endpoint, "--state-dir", state.path, "--heartbeat-ms", "200"]
            + (command == "serve" ? ["--workers", "0"] : []) + extra, log: log)
    }

    func startWorker(_ extra: [String] = []) throws -> Process {
        let worker = try launch(["worker", "--connect", endpoint, "--heartbeat-ms", "200"] + extra,
                                log: state.appendingPathComponent("worker-\(workers.count).log"))
        workers.append(worker)
        return worker
    }

    /// SIGKILLs a worker while it holds work the coordinator waits for. A tiny-model step takes
    /// milliseconds, so a bare SIGKILL may land between two steps, when the next heartbeat or update
    /// finds the connection closed and nothing is in flight to redo. Frozen first (SIGSTOP), the
    /// worker keeps its connection open: within 0.2 s, well inside the tests' heartbeat window of
    /// 3 × 200 ms, the coordinator has handed it its next shard or batch and waits for the reply;
    /// the SIGKILL lands while that is in flight.
    func killWhileBusy(_ worker: Process) {
        kill(worker.processIdentifier, SIGSTOP)
        usleep(200_000)
        kill(worker.processIdentifier, SIGKILL)
        worker.waitUntilExit()
    }

    func killCoordinator() {
        guard let coordinator else { return }
        kill(coordinator.processIdentifier, SIGKILL)
        coordinator.waitUntilExit()
    }

    func stopAll() {
        for process in workers + [coordinator].compactMap({ $0 }) where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func coordinatorLog() -> String {
        coordinatorLogs.map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }.joined(separator: "\n")
    }

    func submit(_ job: [String]) throws -> String {
        let result = try CLIRunner.run(["submit", "--coordinator", endpoint] + clientArguments + job)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func status(_ id: String) throws -> [String: Any] {
        let result = try CLIRunner.run(["status", id, "--json", "--coordinator", endpoint, "--timeout", "2"] + clientArguments)
        guard result.status == 0, let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            return [:]
        }
        return object
    }

    func waitForStep(_ id: String, atLeast step: Int, timeout: TimeInterval = 120) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let status = try status(id)
            if (status["step"] as? Int ?? 0) >= step { return }
            if ["failed", "cancelled", "succeeded"].contains(status["state"] as? String ?? "") {
                XCTFail("the job ended before step \(step): \(status)\n\(coordinatorLog())")
                return
            }
            usleep(20_000)
        }
        XCTFail("step \(step) not reached in \(timeout) s\n\(coordinatorLog())")
    }

    /// Waits until the coordinator's log contains `text`.
    func waitForLog(_ text: String, timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if coordinatorLog().contains(text) { return }
            usleep(50_000)
        }
        XCTFail("the coordinator's log did not say \"\(text)\" in \(timeout) s\n\(coordinatorLog())")
    }

    func waitForEnd(_ id: String, timeout: TimeInterval = 240) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = try status(id)
            if ["failed", "cancelled", "succeeded"].contains(last["state"] as? String ?? "") { return last }
            usleep(100_000)
        }
        XCTFail("the job did not end in \(timeout) s: \(last)\n\(coordinatorLog())")
        return last
    }
}

enum TrainingLog {
    static func entries(_ output: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: output.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
    static func losses(_ output: URL) throws -> [Double] { try entries(output).map { $0["loss"] as? Double ?? .nan } }
    static func steps(_ output: URL) throws -> [Int] { try entries(output).map { $0["step"] as? Int ?? -1 } }
}

/// The F32 tensors of a safetensors file, by name.
struct Weights {
    let tensors: [String: [Float]]
    var names: [String] { tensors.keys.sorted() }

    init(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8 ..< 8 + Int(headerLength))) as! [String: Any]
        var tensors: [String: [Float]] = [:]
        for (name, value) in header where name != "__metadata__" {
            let info = value as! [String: Any]
            XCTAssertEqual(info["dtype"] as? String, "F32", name)
            let offsets = info["data_offsets"] as! [Int]
            let start = 8 + Int(headerLength) + offsets[0], end = 8 + Int(headerLength) + offsets[1]
            tensors[name] = data.subdata(in: start ..< end).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        self.tensors = tensors
    }

    /// ‖a − b‖ / ‖b‖ for one tensor.
    func relativeDifference(_ other: Weights, _ name: String) -> Double {
        guard let a = tensors[name], let b = other.tensors[name], a.count == b.count else { return .infinity }
        var difference = 0.0, norm = 0.0
        for i in 0 ..< a.count {
            difference += Double(a[i] - b[i]) * Double(a[i] - b[i])
            norm += Double(b[i]) * Double(b[i])
        }
        return (difference / max(norm, 1e-30)).squareRoot()
    }
}
