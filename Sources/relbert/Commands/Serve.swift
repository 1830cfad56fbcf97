import ArgumentParser
import Foundation
import RelBERT
import RelBERTCluster
import RelBERTProtocol

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model on a cluster: embed pairs, solve analogies, find nearest pairs (clients: relbert query).",
        discussion: """
        Starts a coordinator that serves --model on its workers (--workers local processes, and any \
        remote `relbert worker --connect ADDR`). It also accepts training jobs; a finished job's model \
        replaces the served one. With --reload DIR, asks the server at --server to swap to another \
        model instead (atomic; a model that does not load is refused and the old one keeps serving).
        """)

    @OptionGroup var coordinator: CoordinatorOptions
    @Option(help: "The model folder to serve.") var model = "models/all-MiniLM-L6-v2"
    @Option(help: "Local worker processes to start (0: remote workers only).") var workers = 2
    @Option(help: "The pairs serve.Nearest searches: bundled (every pair of the SemEval-2012 and analogy data under --data-dir), none, or a file of head<TAB>tail[<TAB>source] lines.")
    var index = "bundled"
    @Option(name: .customLong("data-dir"), help: "Where the bundled data lives.") var dataDirectory = "data"
    @Option(name: .customLong("queue-limit"), help: "Pairs queued beyond which requests get RESOURCE_EXHAUSTED.") var queueLimit = 4096
    @Option(name: .customLong("max-pairs"), help: "Pairs one request may carry.") var maxPairs = 1024
    @Option(name: .customLong("token-budget"), help: "Tokens in one worker batch.") var tokenBudget = 1024
    @Option(name: .customLong("max-wait"), help: "Seconds a request may wait in the server (e.g. for a first worker) before DEADLINE_EXCEEDED.")
    var maxWait: Double = 60
    @Option(help: "Swap the model of the server at --server to this folder (a path on the server's machine), then exit.")
    var reload: String?
    @Option(help: "The server, for --reload.") var server = "tcp://127.0.0.1:5555"
    @OptionGroup var clientKeys: ServerClientKeyOptions

    func validate() throws {
        guard workers >= 0 else { throw ValidationError("--workers must be 0 or more") }
        guard queueLimit > 0, maxPairs > 0, tokenBudget >= 64, maxWait > 0 else {
            throw ValidationError("--queue-limit and --max-pairs must be positive, --token-budget at least 64, --max-wait positive")
        }
    }

    func run() throws {
        if let reload {
            let client = try ClusterClient(endpoint: server)
            client.curve = try clientKeys.keys()
            client.timeout = .seconds(120)   // loading and the swap itself
            client.retries = 0               // a reload is not idempotent enough to resend blindly
            var request = Relbert_V1_ReloadRequest()
            request.modelDirectory = LocalCluster.absolute(reload)
            let reply = try client.call(Method.serveReload, request).body(as: Relbert_V1_ReloadReply.self)
            print("serving \(reply.model.path) (generation \(reply.model.generation), checksum \(reply.model.checksum)); was \(reply.previous.path) (generation \(reply.previous.generation))")
            return
        }
        if workers > 0, coordinator.keys.key != nil {
            throw ValidationError("local workers have no keys; with CURVE, use --workers 0 and relbert worker --key ...")
        }
        var options = try coordinator.options()
        options.serving.model = URL(fileURLWithPath: model)
        options.serving.queueLimit = queueLimit
        options.serving.maxPairsPerRequest = maxPairs
        options.serving.tokenBudget = tokenBudget
        options.serving.maxWait = .milliseconds(Int(maxWait * 1000))
        switch index {
        case "none": options.serving.index = .none
        case "bundled": options.serving.index = .bundled(URL(fileURLWithPath: dataDirectory))
        default: options.serving.index = .file(URL(fileURLWithPath: index))
        }
        let coordinator = try Coordinator(options: options, log: Log.line)
        let children = try LocalCluster.spawnWorkers(workers, endpoint: coordinator.endpoint, heartbeat: self.coordinator.heartbeat)
        defer { LocalCluster.stop(children) }
        Log.line("serving \(model) on \(coordinator.endpoint) with \(workers) local worker(s); Ctrl-C stops all")
        try coordinator.run()
    }
}

/// `--key`/`--server-key` for a command that is a client of a server.
struct ServerClientKeyOptions: ParsableArguments {
    @Option(name: .customLong("client-key"), help: "With --reload against a CURVE server: this client's key file.") var key: String?
    @Option(name: .customLong("server-key"), help: "With --reload against a CURVE server: the server's public key file.") var serverKey: String?

    func keys() throws -> CurveClientKeys? {
        try ClientKeyOptions.read(key: key, serverKey: serverKey, keyFlag: "--client-key")
    }
}
