import Foundation
import RelBERT

/// One job (training, or a prompt search) as the coordinator keeps it: what to run, where, and how far it got.
public struct JobRecord: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case queued, running, succeeded, failed, cancelled }

    public var id: String
    public var idempotencyKey: String?
    public var configuration: TrainingConfiguration
    /// Set for a prompt search (``PromptSearchSpec``) instead of training; `configuration` is then unused.
    public var promptSearch: PromptSearchSpec?
    public var modelDirectory: String
    public var dataDirectory: String
    /// Where the run writes `checkpoint/`, `model/` and `train_log.jsonl`.
    public var output: String
    public var resume: Bool
    public var state: State
    public var error: String?
    public var submitted: Double
    public var step: Int = 0
    public var totalSteps: Int = 0
    public var loss: Float = 0
    public var sequencesPerSecond: Double = 0
    public var secondsElapsed: Double = 0
    public var validationLoss: Float?

    public var isFinished: Bool { state == .succeeded || state == .failed || state == .cancelled }
}

/// The coordinator's job list, one JSON file per job under `STATE/jobs/`, each written atomically,
/// so a restarted coordinator finds every job it had accepted.
final class JobStore {
    let directory: URL?
    private(set) var jobs: [JobRecord] = []

    /// Loads the jobs under `stateDirectory/jobs` (none without a state directory). Jobs that were
    /// running when the coordinator stopped go back to the queue, to resume from their checkpoint.
    init(stateDirectory: URL?) throws {
        directory = stateDirectory?.appendingPathComponent("jobs")
        guard let directory else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        for file in files {
            let url = directory.appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path),
                  var job = try? JSONDecoder().decode(JobRecord.self, from: data) else {
                throw ClusterError.state("\(url.path) is not a readable job record; move it away to start")
            }
            if job.state == .running { job.state = .queued }
            jobs.append(job)
        }
        jobs.sort { ($0.submitted, $0.id) < ($1.submitted, $1.id) }
    }

    func job(_ id: String) -> JobRecord? { jobs.first { $0.id == id } }

    func job(idempotencyKey key: String) -> JobRecord? {
        jobs.first { $0.idempotencyKey == key }
    }

    var nextQueued: JobRecord? { jobs.first { $0.state == .queued } }

    func add(_ job: JobRecord) throws {
        jobs.append(job)
        try save(job)
    }

    /// Changes a job in memory; `persist` also writes it to disk.
    func update(_ id: String, persist: Bool = true, _ change: (inout JobRecord) -> Void) throws {
        guard let index = jobs.firstIndex(where: { $0.id == id }) else { return }
        change(&jobs[index])
        if persist { try save(jobs[index]) }
    }

    private func save(_ job: JobRecord) throws {
        guard let directory else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(job)
        let url = directory.appendingPathComponent("\(job.id).json")
        let temporary = directory.appendingPathComponent(".\(job.id).json.partial")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
            throw ClusterError.state("cannot write \(temporary.path) (disk full or read-only?)")
        }
        if let handle = try? FileHandle(forWritingTo: temporary) {
            try? handle.synchronize()
            try? handle.close()
        }
        if rename(temporary.path, url.path) != 0 {
            throw ClusterError.state("cannot rename \(temporary.path) to \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}

public enum ClusterError: Error, CustomStringConvertible {
    case state(String)
    case cancelled
    case noWorkers(String)
    case remote(String)

    public var description: String {
        switch self {
        case .state(let message), .noWorkers(let message), .remote(let message): return message
        case .cancelled: return "the job was cancelled"
        }
    }
}
