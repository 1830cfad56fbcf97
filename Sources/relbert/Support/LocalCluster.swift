import Foundation
import RelBERT
import RelBERTCluster

/// `relbert train --workers N`: an in-process coordinator on a loopback port, N worker processes
/// of this same binary (one thread each), the job submitted and run through the cluster code path.
enum LocalCluster {
    /// An in-process coordinator on a loopback port with `workers` worker processes registered, for
    /// `body`; the workers stop afterwards. RELBERT_CLUSTER_LOG=1 shows the coordinator's and workers' logs.
    static func run(workers: Int, _ body: (RelBERTCluster.Coordinator) throws -> Void) throws {
        var coordinatorOptions = Coordinator.Options()
        coordinatorOptions.bind = "tcp://127.0.0.1:*"
        let quiet = ProcessInfo.processInfo.environment["RELBERT_CLUSTER_LOG"] == nil
        let log: (String) -> Void = quiet ? { _ in } : { Log.line($0) }
        let coordinator = try RelBERTCluster.Coordinator(options: coordinatorOptions, log: log)
        let heartbeat = try HeartbeatOptions.parse([])
        let children = try spawnWorkers(workers, endpoint: coordinator.endpoint, heartbeat: heartbeat)
        defer { stop(children) }
        guard try coordinator.waitForWorkers(workers, timeout: .seconds(60)) else {
            throw CLIError("only \(coordinator.workerCount) of \(workers) workers registered within 60 s")
        }
        try body(coordinator)
    }

    static func train(options: TrainingOptions, configuration: TrainingConfiguration, output: String, workers: Int,
                      resume: Bool, reporter: ProgressReporter) throws {
        try run(workers: workers) { coordinator in try train(on: coordinator, options: options, configuration: configuration,
                                                             output: output, workers: workers, resume: resume, reporter: reporter) }
    }

    private static func train(on coordinator: RelBERTCluster.Coordinator, options: TrainingOptions, configuration: TrainingConfiguration,
                              output: String, workers: Int, resume: Bool, reporter: ProgressReporter) throws {
        let outputURL = URL(fileURLWithPath: output)
        let hasCheckpoint = FileManager.default.fileExists(atPath: outputURL.appendingPathComponent("checkpoint/trainer_state.json").path)
        if resume, !hasCheckpoint { throw CLIError("nothing to resume: \(output)/checkpoint holds no checkpoint") }
        if !resume, hasCheckpoint {
            throw CLIError("\(output) already holds a run's checkpoint: pass --resume to continue it, or choose another --output")
        }
        let (job, _) = try coordinator.submit(configuration: configuration, modelDirectory: absolute(options.model),
                                              dataDirectory: absolute(options.data), output: absolute(output), resume: resume)
        reporter.line("training \(options.model) → \(output): \(configuration.loss.rawValue) loss, \(configuration.epochs) epoch(s), template \(configuration.template), \(configuration.pooling), lr \(configuration.learningRate), \(workers) local worker(s) at \(coordinator.endpoint)")
        coordinator.progressObserver = { record in
            guard record.id == job.id, record.totalSteps > 0 else { return }
            let perEpoch = max(1, record.totalSteps / max(1, configuration.epochs))
            reporter.total = record.totalSteps
            reporter.report(TrainingRun.Progress(step: record.step, totalSteps: record.totalSteps,
                                                 epoch: (record.step - 1) / perEpoch + 1, loss: record.loss,
                                                 learningRate: configuration.learningRate,
                                                 sequencesPerSecond: record.sequencesPerSecond,
                                                 secondsElapsed: record.secondsElapsed))
        }
        try coordinator.run(until: { coordinator.job(job.id)?.isFinished ?? true })
        reporter.finish()
        let record = coordinator.job(job.id)
        guard record?.state == .succeeded else {
            throw CLIError("the job \(record?.state.rawValue ?? "vanished"): \(record?.error ?? "")")
        }
        if let validation = record?.validationLoss { reporter.line(String(format: "validation loss %.4f", validation)) }
        reporter.line("model written to \(output)/model")
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    static func spawnWorkers(_ count: Int, endpoint: String, heartbeat: HeartbeatOptions) throws -> [Process] {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath()
        let me = ProcessInfo.processInfo.processIdentifier
        return try (0 ..< count).map { _ in
            let process = Process()
            process.executableURL = Bundle.main.executableURL ?? executable
            process.arguments = ["worker", "--connect", endpoint, "--threads", "1",
                                 "--heartbeat-ms", "\(heartbeat.intervalMilliseconds)", "--liveness", "\(heartbeat.liveness)",
                                 "--parent", "\(me)"]
            if ProcessInfo.processInfo.environment["RELBERT_CLUSTER_LOG"] == nil {
                process.standardError = FileHandle.nullDevice
            }
            try process.run()
            return process
        }
    }

    static func stop(_ processes: [Process]) {
        for process in processes where process.isRunning { process.terminate() }
        for process in processes { process.waitUntilExit() }
    }

    static func isLoopback(_ endpoint: String) -> Bool {
        endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") || endpoint.contains("://127.") || endpoint.contains("://localhost")
            || endpoint.contains("://[::1]")
    }
}
