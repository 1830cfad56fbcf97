import ArgumentParser
import Foundation
import RelBERT
import RelBERTCluster
import RelBERTProtocol

struct CoordinatorAddress: ParsableArguments {
    @Option(help: "The coordinator's address.") var coordinator = "tcp://127.0.0.1:5555"
    @Option(help: "Seconds to wait for each reply.") var timeout: Double = 10
    @OptionGroup var keys: ClientKeyOptions

    func client() throws -> ClusterClient {
        let client = try ClusterClient(endpoint: coordinator)
        client.curve = try keys.keys()
        client.timeout = .milliseconds(Int(timeout * 1000))
        return client
    }
}

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a training job to a coordinator; prints its id.",
        discussion: "Model and data folders are paths on the coordinator's machine (made absolute here).")

    @OptionGroup var address: CoordinatorAddress
    @OptionGroup var job: TrainingOptions
    @Option(help: "A JSON training configuration (the keys of finetuning_config.json) instead of the flags.") var spec: String?
    @Option(name: .customLong("idempotency-key"), help: "A retried submit with the same key returns the first job's id. Default: a new key per invocation.")
    var idempotencyKey: String?

    func run() throws {
        var request = Relbert_V1_SubmitRequest()
        if let spec {
            let data = try InputSource.read(spec)
            let configuration: TrainingConfiguration
            do { configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: data) } catch {
                throw CLIError("\(spec): not a training configuration (\(error))")
            }
            try configuration.validate()
            request.configurationJson = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        } else {
            request.configurationJson = String(decoding: try JSONEncoder().encode(try job.configuration()), as: UTF8.self)
        }
        request.modelDirectory = LocalCluster.absolute(job.model)
        request.dataDirectory = LocalCluster.absolute(job.data)
        request.idempotencyKey = idempotencyKey ?? UUID().uuidString
        let reply = try address.client().call(Method.submit, request).body(as: Relbert_V1_SubmitReply.self)
        print(reply.jobID)
    }
}

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a coordinator's jobs.")
    @OptionGroup var address: CoordinatorAddress
    @Flag(help: "One JSON object per job.") var json = false

    func run() throws {
        let reply = try address.client().call(Method.list, Relbert_V1_ListRequest()).body(as: Relbert_V1_ListReply.self)
        for job in reply.jobs {
            print(json ? JobText.json(job) : JobText.line(job))
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a job's progress; --watch follows it to the end.")
    @OptionGroup var address: CoordinatorAddress
    @Argument var job: String
    @Flag(help: "Follow the job until it ends.") var watch = false
    @Flag(help: "JSON.") var json = false

    func run() throws {
        let client = try address.client()
        var request = Relbert_V1_StatusRequest()
        request.jobID = job
        let reporter = ProgressReporter(total: 0)
        while true {
            let status = try client.call(Method.status, request).body(as: Relbert_V1_JobStatus.self)
            let finished = [.jobSucceeded, .jobFailed, .jobCancelled].contains(status.state)
            if !watch || json {
                print(json ? JobText.json(status) : JobText.line(status))
                if !watch || finished { return }
            } else if reporter.interactive {
                reporter.total = Int(status.totalSteps)
                FileHandle.standardError.write(Data(("\r" + JobText.bar(status) + " ").utf8))
                if finished { reporter.finish(); print(JobText.line(status)); return }
            } else {
                print(JobText.line(status))
                if finished { return }
            }
            Thread.sleep(forTimeInterval: 1)
        }
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a queued or running job.")
    @OptionGroup var address: CoordinatorAddress
    @Argument var job: String

    func run() throws {
        var request = Relbert_V1_CancelRequest()
        request.jobID = job
        let status = try address.client().call(Method.cancel, request).body(as: Relbert_V1_JobStatus.self)
        print(JobText.line(status))
    }
}

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download a finished job's model (checkpoint layout).")
    @OptionGroup var address: CoordinatorAddress
    @Argument var job: String
    @Option(help: "Folder to write the model into.") var output: String

    func run() throws {
        var request = Relbert_V1_FetchRequest()
        request.jobID = job
        let client = try address.client()
        client.timeout = .seconds(max(60, Int(address.timeout)))
        let reply = try client.call(Method.fetch, request)
        let body = try reply.body(as: Relbert_V1_FetchReply.self)
        try TensorFrames.validate(reply.tensors, against: body.files, expecting: body.files.map(\.name), maxElements: 1 << 33)
        let directory = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (spec, frame) in zip(body.files, reply.tensors) {
            guard !spec.name.contains("/"), !spec.name.hasPrefix(".") else { throw CLIError("refusing file name '\(spec.name)'") }
            try frame.data.write(to: directory.appendingPathComponent(spec.name), options: .atomic)
        }
        print("\(body.files.count) files written to \(output)")
    }
}

enum JobText {
    static func state(_ s: Relbert_V1_JobState) -> String {
        switch s {
        case .jobQueued: return "queued"
        case .jobRunning: return "running"
        case .jobSucceeded: return "succeeded"
        case .jobFailed: return "failed"
        case .jobCancelled: return "cancelled"
        default: return "unknown"
        }
    }

    static func line(_ s: Relbert_V1_JobStatus) -> String {
        var text = String(format: "%@ %@ step %d/%d loss %.4f %.1f seq/s workers %d", s.jobID, state(s.state),
                          Int(s.step), Int(s.totalSteps), s.loss, s.sequencesPerSecond, Int(s.workersAlive))
        if s.step > 0, s.totalSteps > s.step, s.state == .jobRunning {
            text += " ETA " + ProgressReporter.duration(s.secondsElapsed / Double(s.step) * Double(s.totalSteps - s.step))
        }
        if !s.error.isEmpty { text += " error: \(s.error)" }
        return text
    }

    static func bar(_ s: Relbert_V1_JobStatus) -> String {
        let width = 30
        let filled = s.totalSteps > 0 ? width * Int(s.step) / Int(s.totalSteps) : 0
        return String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + " " + line(s)
    }

    static func json(_ s: Relbert_V1_JobStatus) -> String {
        let object: [String: Any] = [
            "job": s.jobID, "state": state(s.state), "step": s.step, "total_steps": s.totalSteps, "loss": s.loss,
            "sequences_per_s": s.sequencesPerSecond, "seconds": s.secondsElapsed, "workers_alive": s.workersAlive,
            "error": s.error,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
