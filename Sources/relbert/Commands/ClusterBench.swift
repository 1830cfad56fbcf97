import ArgumentParser
import Foundation
import RelBERT
import RelBERTCluster

/// `relbert bench cluster`: the training step of `bench train` (96 sequences, 32 triplets) run by
/// a coordinator over N local worker processes with one thread each, next to the single-process
/// trainer on every core: sequences/s, bytes per step and where a step's time goes.
struct ClusterBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Cluster training throughput for 1..N local workers, bytes per step, share of a step spent communicating.")

    @Option(help: "Model folder (Hugging Face layout).") var model: String = "models/all-MiniLM-L6-v2"
    @Option(help: "Worker counts to measure, comma-separated.") var workers: String = "1,2"
    @Option(help: "Seconds to measure each configuration.") var seconds: Double = 20
    @Flag(name: .customLong("bf16-gradients"), help: "Gradients in bf16 on the wire.") var bf16 = false
    @Flag(help: "One JSON object per configuration.") var json = false

    func run() throws {
        let counts = workers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 >= 1 }
        guard !counts.isEmpty else { throw ValidationError("--workers: give worker counts like 1,2") }
        let loaded = try PretrainedModel.load(from: URL(fileURLWithPath: model))
        let batch = try TrainBench.step(for: loaded)
        let threads = ProcessInfo.processInfo.activeProcessorCount

        // The single-process baseline on every core.
        var settings = LocalTrainer.Settings()
        settings.threads = threads
        let local = LocalTrainer(model: try PretrainedModel.load(from: URL(fileURLWithPath: model)), pooling: .averageNoMask,
                                 optimizer: AdamW.Settings(), settings: settings)
        let localRate = try Self.measure(seconds: seconds, sequences: batch.sequences.count) { step in
            _ = try local.train(batch, step: step, learningRate: 1e-5)
        }
        emit([("benchmark", JSONText.string("cluster")), ("mode", JSONText.string("single-process")),
              ("threads", "\(threads)"), ("sequences_per_s", JSONText.number((localRate * 10).rounded() / 10))],
             text: String(format: "single process, %d threads: %.1f sequences/s", threads, localRate))

        for count in counts {
            var options = Coordinator.Options()
            options.bind = "tcp://127.0.0.1:*"
            options.bf16Gradients = bf16
            options.checksumEvery = 0
            let coordinator = try Coordinator(options: options)
            let children = try LocalCluster.spawnWorkers(count, endpoint: coordinator.endpoint, heartbeat: try HeartbeatOptions.parse([]))
            defer { LocalCluster.stop(children) }
            guard try coordinator.waitForWorkers(count, timeout: .seconds(60)) else {
                throw CLIError("only \(coordinator.workerCount) of \(count) workers registered")
            }
            let model = try PretrainedModel.load(from: URL(fileURLWithPath: self.model))
            var trainerSettings = LocalTrainer.Settings()
            trainerSettings.threads = 1
            let trainer = coordinator.makeTrainer(jobID: "bench-\(count)", model: model, pooling: .averageNoMask,
                                                  optimizer: AdamW.Settings(), settings: trainerSettings)
            _ = try trainer.train(batch, step: 0, learningRate: 1e-5)   // loads the weights, warms up
            trainer.resetStatistics()
            let rate = try Self.measure(seconds: seconds, sequences: batch.sequences.count) { step in
                _ = try trainer.train(batch, step: step + 1, learningRate: 1e-5)
            }
            let s = trainer.statistics
            let steps = Double(max(1, s.steps))
            let bytes = Double(s.bytesSent + s.bytesReceived) / steps
            let share = s.secondsCommunicating / max(1e-9, s.secondsInStep)
            let fields: [(String, String)] = [
                ("benchmark", JSONText.string("cluster")), ("mode", JSONText.string("workers")),
                ("workers", "\(count)"), ("threads_per_worker", "1"),
                ("sequences_per_s", JSONText.number((rate * 10).rounded() / 10)),
                ("ratio_vs_single_process", JSONText.number((rate / localRate * 1000).rounded() / 1000)),
                ("bytes_per_step", JSONText.number(bytes.rounded())),
                ("bytes_sent_per_step", JSONText.number((Double(s.bytesSent) / steps).rounded())),
                ("bytes_received_per_step", JSONText.number((Double(s.bytesReceived) / steps).rounded())),
                ("step_seconds", JSONText.number((s.secondsInStep / steps * 1000).rounded() / 1000)),
                ("worker_compute_seconds", JSONText.number((s.secondsWorkerCompute / steps * 1000).rounded() / 1000)),
                ("coordinator_compute_seconds", JSONText.number((s.secondsCoordinatorCompute / steps * 1000).rounded() / 1000)),
                ("master_update_seconds", JSONText.number((s.secondsMasterUpdate / steps * 1000).rounded() / 1000)),
                ("communication_share", JSONText.number((share * 1000).rounded() / 1000)),
                ("bf16_gradients", bf16 ? "true" : "false"),
            ]
            emit(fields, text: String(format: "%d worker(s) × 1 thread: %.1f sequences/s (%.2fx single process); %.1f MB per step; step %.3f s = workers %.3f + coordinator %.3f + communication %.3f (%.1f%%); master update %.3f s alongside the workers'",
                                      count, rate, rate / localRate, bytes / 1e6, s.secondsInStep / steps,
                                      s.secondsWorkerCompute / steps, s.secondsCoordinatorCompute / steps,
                                      s.secondsCommunicating / steps, share * 100, s.secondsMasterUpdate / steps))
        }
    }

    private func emit(_ fields: [(String, String)], text: String) {
        print(json ? JSONText.object(fields) : text)
    }

    static func measure(seconds: Double, sequences: Int, step: (Int) throws -> Void) throws -> Double {
        try step(0)
        let clock = ContinuousClock()
        let start = clock.now
        var steps = 0
        var elapsed = 0.0
        repeat {
            try step(steps + 1)
            steps += 1
            elapsed = (clock.now - start).secondsValue
        } while elapsed < seconds
        return Double(steps * sequences) / elapsed
    }
}
