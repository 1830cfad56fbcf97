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
    @Option(name: .customLong("gradient-streaming"), help: "on: workers stream their gradients layer by layer during the backward pass; off: one reply after it; both: measure each, side by side in every round.") var gradientStreaming = "on"
    @Flag(help: "One JSON object per configuration.") var json = false

    @Option(help: "Rounds: each measures every cluster, then the single process again; a cluster is compared with the mean of the single-process runs just before and after it (this machine's speed drifts by several percent).") var rounds = 1

    /// One cluster under measurement: its coordinator, worker processes and trainer.
    private final class Cluster {
        let workers: Int
        let streaming: Bool
        /// Held here because the trainer refers to its coordinator without owning it.
        let coordinator: Coordinator
        let children: [Process]
        let trainer: ClusterTrainer
        /// The next step: the workers' optimizer replicas take the steps in order (0 was the warm-up).
        var step = 1
        var ratios: [Double] = []

        init(workers: Int, streaming: Bool, coordinator: Coordinator, children: [Process], trainer: ClusterTrainer) {
            self.workers = workers
            self.streaming = streaming
            self.coordinator = coordinator
            self.children = children
            self.trainer = trainer
        }
    }

    func run() throws {
        let counts = workers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 >= 1 }
        guard !counts.isEmpty else { throw ValidationError("--workers: give worker counts like 1,2") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        let modes: [Bool]
        switch gradientStreaming {
        case "on": modes = [true]
        case "off": modes = [false]
        case "both": modes = [true, false]
        default: throw ValidationError("--gradient-streaming: on, off or both")
        }
        let loaded = try PretrainedModel.load(from: URL(fileURLWithPath: model))
        let batch = try TrainBench.step(for: loaded)
        let threads = ProcessInfo.processInfo.activeProcessorCount

        // The single-process baseline on every core.
        var settings = LocalTrainer.Settings()
        settings.threads = threads
        let local = LocalTrainer(model: try PretrainedModel.load(from: URL(fileURLWithPath: model)), pooling: .averageNoMask,
                                 optimizer: AdamW.Settings(), settings: settings)
        var clusters: [Cluster] = []
        defer { for cluster in clusters { LocalCluster.stop(cluster.children) } }
        for count in counts { for streaming in modes {
            var options = Coordinator.Options()
            options.bind = "tcp://127.0.0.1:*"
            options.bf16Gradients = bf16
            options.streamGradients = streaming
            options.checksumEvery = 0
            let coordinator = try Coordinator(options: options)
            let children = try LocalCluster.spawnWorkers(count, endpoint: coordinator.endpoint, heartbeat: try HeartbeatOptions.parse([]))
            clusters.append(Cluster(workers: count, streaming: streaming, coordinator: coordinator, children: children,
                                    trainer: try makeTrainer(coordinator, workers: count, batch: batch)))
        } }
        var localStep = 0
        func measureSingleProcess() throws -> Double {
            let rate = try Self.measure(seconds: seconds, sequences: batch.sequences.count) { _ in
                _ = try local.train(batch, step: localStep, learningRate: 1e-5)
                localStep += 1
            }
            emit([("benchmark", JSONText.string("cluster")), ("mode", JSONText.string("single-process")),
                  ("threads", "\(threads)"), ("sequences_per_s", JSONText.number((rate * 10).rounded() / 10))],
                 text: String(format: "single process, %d threads: %.1f sequences/s", threads, rate))
            return rate
        }
        // Every round brackets its clusters between two single-process runs and compares with their
        // mean, so that a drift of the machine's speed does not favour whatever runs first.
        var before = try measureSingleProcess()
        for round in 1 ... rounds {
            if rounds > 1 { emit([("benchmark", JSONText.string("cluster")), ("round", "\(round)")], text: "round \(round) of \(rounds)") }
            var rates: [Double] = []
            var figures: [ClusterTrainer.Statistics] = []
            for cluster in clusters {
                // Silent while the others ran, the coordinator lost its workers to the heartbeat
                // timeout: one step outside the figures lets them register and load again.
                _ = try cluster.trainer.train(batch, step: cluster.step, learningRate: 1e-5)
                cluster.step += 1
                cluster.trainer.resetStatistics()
                rates.append(try Self.measure(seconds: seconds, sequences: batch.sequences.count) { _ in
                    _ = try cluster.trainer.train(batch, step: cluster.step, learningRate: 1e-5)
                    cluster.step += 1
                })
                figures.append(cluster.trainer.statistics)
            }
            let after = try measureSingleProcess()
            let reference = (before + after) / 2
            for (index, cluster) in clusters.enumerated() {
                cluster.ratios.append(rates[index] / reference)
                report(cluster, rate: rates[index], localRate: reference, statistics: figures[index])
            }
            before = after
        }
        if rounds > 1 {
            for cluster in clusters {
                let sorted = cluster.ratios.sorted()
                let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
                emit([("benchmark", JSONText.string("cluster")), ("mode", JSONText.string("summary")),
                      ("workers", "\(cluster.workers)"), ("gradient_streaming", cluster.streaming ? "true" : "false"), ("rounds", "\(rounds)"),
                      ("median_ratio_vs_single_process", JSONText.number((median * 1000).rounded() / 1000)),
                      ("ratios", "[" + cluster.ratios.map { JSONText.number(($0 * 1000).rounded() / 1000) }.joined(separator: ",") + "]")],
                     text: "\(cluster.workers) worker(s), \(cluster.streaming ? "streamed" : "unstreamed") gradients, \(rounds) rounds: median \(String(format: "%.2f", median))x single process (rounds: \(cluster.ratios.map { String(format: "%.2f", $0) }.joined(separator: ", ")))")
            }
        }
    }

    /// A trainer on `coordinator` once its workers registered, with the weights loaded (one step run).
    private func makeTrainer(_ coordinator: Coordinator, workers count: Int, batch: StepBatch) throws -> ClusterTrainer {
        guard try coordinator.waitForWorkers(count, timeout: .seconds(60)) else {
            throw CLIError("only \(coordinator.workerCount) of \(count) workers registered")
        }
        let model = try PretrainedModel.load(from: URL(fileURLWithPath: self.model))
        var trainerSettings = LocalTrainer.Settings()
        trainerSettings.threads = 1
        let trainer = coordinator.makeTrainer(jobID: "bench-\(count)", model: model, pooling: .averageNoMask,
                                              optimizer: AdamW.Settings(), settings: trainerSettings)
        _ = try trainer.train(batch, step: 0, learningRate: 1e-5)   // loads the weights, warms up
        return trainer
    }

    /// One cluster's line of a round; `localRate` is the mean of the single-process runs around it.
    private func report(_ cluster: Cluster, rate: Double, localRate: Double, statistics s: ClusterTrainer.Statistics) {
        let count = cluster.workers
        let steps = Double(max(1, s.steps))
        let bytes = Double(s.bytesSent + s.bytesReceived) / steps
        let share = s.secondsCommunicating / max(1e-9, s.secondsInStep)
        let fields: [(String, String)] = [
            ("benchmark", JSONText.string("cluster")), ("mode", JSONText.string("workers")),
            ("workers", "\(count)"), ("threads_per_worker", "1"),
            ("sequences_per_s", JSONText.number((rate * 10).rounded() / 10)),
            ("ratio_vs_single_process", JSONText.number((rate / localRate * 1000).rounded() / 1000)),
            ("single_process_sequences_per_s", JSONText.number((localRate * 10).rounded() / 10)),
            ("bytes_per_step", JSONText.number(bytes.rounded())),
            ("bytes_sent_per_step", JSONText.number((Double(s.bytesSent) / steps).rounded())),
            ("bytes_received_per_step", JSONText.number((Double(s.bytesReceived) / steps).rounded())),
            ("step_seconds", JSONText.number((s.secondsInStep / steps * 1000).rounded() / 1000)),
            ("worker_compute_seconds", JSONText.number((s.secondsWorkerCompute / steps * 1000).rounded() / 1000)),
            ("coordinator_compute_seconds", JSONText.number((s.secondsCoordinatorCompute / steps * 1000).rounded() / 1000)),
            ("master_update_seconds", JSONText.number((s.secondsMasterUpdate / steps * 1000).rounded() / 1000)),
            ("communication_share", JSONText.number((share * 1000).rounded() / 1000)),
            ("bf16_gradients", bf16 ? "true" : "false"),
            ("gradient_streaming", cluster.streaming ? "true" : "false"),
            ("summing_during_backward_seconds", JSONText.number((s.secondsSummingDuringBackward / steps * 1000).rounded() / 1000)),
        ]
        emit(fields, text: String(format: "%d worker(s) × 1 thread: %.1f sequences/s (%.2fx the single process's mean before and after); %.1f MB per step; step %.3f s = workers %.3f + coordinator %.3f + communication %.3f (%.1f%%); master update %.3f s alongside the workers'; %@",
                                  count, rate, rate / localRate, bytes / 1e6, s.secondsInStep / steps,
                                  s.secondsWorkerCompute / steps, s.secondsCoordinatorCompute / steps,
                                  s.secondsCommunicating / steps, share * 100, s.secondsMasterUpdate / steps,
                                  !cluster.streaming ? "gradients in one reply" : String(format: "gradients streamed by layer, %.3f s of summing during the backward pass", s.secondsSummingDuringBackward / steps)))
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
