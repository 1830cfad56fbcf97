import ArgumentParser
import Foundation
import RelBERT
import RelBERTCluster

/// Heartbeat options shared by the coordinator, the worker and `cluster up`.
struct HeartbeatOptions: ParsableArguments {
    @Option(name: .customLong("heartbeat-ms"), help: "Milliseconds between heartbeats.") var intervalMilliseconds: Int = 1000
    @Option(help: "Heartbeats a peer may miss before it counts as gone.") var liveness: Int = 3

    var settings: HeartbeatSettings { HeartbeatSettings(intervalMilliseconds: intervalMilliseconds, liveness: liveness) }
}

/// Everything that configures a coordinator (shared by `coordinator` and `cluster up`).
struct CoordinatorOptions: ParsableArguments {
    @Option(help: "Address to bind (ZeroMQ ROUTER).") var bind = "tcp://127.0.0.1:5555"
    @Option(name: .customLong("state-dir"), help: "Folder for jobs, checkpoints and models; a restart resumes from it.") var stateDirectory: String?
    @OptionGroup var heartbeat: HeartbeatOptions
    @Option(name: .customLong("checksum-every"), help: "Check that every worker's weights equal the master's every N steps (0: never).") var checksumEvery = 10
    @Flag(name: .customLong("bf16-gradients"), help: "Workers send their gradients as bf16 (half the upload; no longer bit-exact).") var bf16Gradients = false
    @Flag(name: .customLong("no-gradient-streaming"), help: "Workers send their gradient in one reply after the backward pass instead of layer by layer during it.") var noGradientStreaming = false
    @OptionGroup var keys: ServerKeyOptions

    /// The options, after saying whether traffic is protected.
    func options() throws -> Coordinator.Options {
        var options = Coordinator.Options()
        options.bind = bind
        options.stateDirectory = stateDirectory.map { URL(fileURLWithPath: $0) }
        options.heartbeat = heartbeat.settings
        options.checksumEvery = checksumEvery
        options.bf16Gradients = bf16Gradients
        options.streamGradients = !noGradientStreaming
        try keys.apply(to: &options)
        if options.curve != nil {
            Log.line("CURVE on: \(options.authorizedKeys.count) authorized key(s)")
        } else if !LocalCluster.isLoopback(bind) {
            Log.line("warning: \(bind) is not a loopback address and this traffic is neither encrypted nor authenticated; anyone who can reach it can submit jobs and join as a worker (see relbert keys generate)")
        }
        return options
    }
}

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run a coordinator: it queues training jobs and runs them on the workers that connect.")

    @OptionGroup var coordinator: CoordinatorOptions

    func run() throws {
        let coordinator = try Coordinator(options: try self.coordinator.options(), log: Log.line)
        Log.line("coordinator listening on \(coordinator.endpoint)")
        try coordinator.run()
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: it registers with a coordinator and computes shards of training steps.")

    @Option(help: "The coordinator's address.") var connect = "tcp://127.0.0.1:5555"
    @Option(help: "OpenBLAS threads.") var threads = 1
    @OptionGroup var heartbeat: HeartbeatOptions
    @Option(help: "Exit when this process is no longer the parent (used by local clusters).") var parent: Int32?
    @OptionGroup var keys: ClientKeyOptions

    func run() throws {
        var options = Worker.Options(endpoint: connect)
        options.threads = max(1, threads)
        options.heartbeat = heartbeat.settings
        options.curve = try keys.keys()
        let worker = try Worker(options: options, log: Log.line)
        if let parent {
            let watcher = Thread {
                while getppid() == parent { Thread.sleep(forTimeInterval: 0.2) }
                worker.stop()
            }
            watcher.start()
        }
        Log.line("worker \(options.workerID) connecting to \(connect) with \(options.threads) thread(s)")
        try worker.run()
    }
}

struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A local cluster.", subcommands: [Up.self])

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a coordinator and N worker processes; stay in the foreground until interrupted.")

        @OptionGroup var coordinator: CoordinatorOptions
        @Option(help: "Local worker processes to start.") var workers = 2

        func run() throws {
            guard coordinator.keys.key == nil else {
                throw ValidationError("cluster up starts local workers without keys; with CURVE, run relbert coordinator and relbert worker --key ...")
            }
            let coordinator = try Coordinator(options: try self.coordinator.options(), log: Log.line)
            let children = try LocalCluster.spawnWorkers(workers, endpoint: coordinator.endpoint, heartbeat: self.coordinator.heartbeat)
            defer { LocalCluster.stop(children) }
            Log.line("coordinator on \(coordinator.endpoint) with \(workers) local worker(s); Ctrl-C stops all")
            try coordinator.run()
        }
    }
}

/// Timestamped lines on standard error (the services' log).
enum Log {
    @Sendable static func line(_ text: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        FileHandle.standardError.write(Data("\(stamp) \(text)\n".utf8))
    }
}
