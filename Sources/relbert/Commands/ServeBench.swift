import ArgumentParser
import Foundation
import RelBERT
import RelBERTCluster
import RelBERTProtocol
import Synchronization

/// `relbert bench serve`: C concurrent clients, each sending serve.Embed requests of P pairs back to
/// back for S seconds: requests/s, pairs/s, latency percentiles and errors. Next to it, the offline
/// throughput of `bench embed` with as many threads as the server has workers, measured in the same
/// run (before the server starts, when this command starts it).
struct ServeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serving under load: requests/s, pairs/s, p50/p95/p99 latency and errors, against offline embedding.")

    @Option(help: "A running server. Default: start `relbert serve` here with --workers local workers.") var server: String?
    @Option(help: "Local workers of the server this command starts (and threads of the offline baseline).") var workers = 2
    @Option(help: "The model (for the server this command starts and the offline baseline).") var model = "models/all-MiniLM-L6-v2"
    @Option(help: "Concurrent clients, one connection each.") var clients = 32
    @Option(help: "Seconds to measure.") var seconds: Double = 30
    @Option(name: .customLong("pairs-per-request"), help: "Pairs in each request.") var pairsPerRequest = 8
    @Option(help: "Template of every request (as bench embed).") var template = "a"
    @Option(name: .customLong("offline-seconds"), help: "Seconds for the offline baseline (0: skip it).") var offlineSeconds: Double = 10
    @Option(name: .customLong("token-budget"), help: "For the server this command starts: tokens per worker batch.") var tokenBudget = 1024
    @Flag(help: "One JSON object instead of text.") var json = false

    func validate() throws {
        guard clients >= 1, seconds > 0, pairsPerRequest >= 1, workers >= 1 else {
            throw ValidationError("--clients, --seconds, --pairs-per-request and --workers must be positive")
        }
    }

    func run() throws {
        var offline: Double?
        if offlineSeconds > 0 {
            offline = try offlineRate()
        }
        var child: Process?
        defer { if let child, child.isRunning { child.terminate(); child.waitUntilExit() } }
        let endpoint: String
        if let server {
            endpoint = server
        } else {
            let port = Int.random(in: 20000 ... 40000)
            endpoint = "tcp://127.0.0.1:\(port)"
            let process = Process()
            process.executableURL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = ["serve", "--model", model, "--bind", endpoint, "--workers", "\(workers)", "--index", "none",
                                 "--token-budget", "\(tokenBudget)"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            child = process
            try waitUntilServing(endpoint)
        }
        let result = try load(endpoint)
        report(result, offline: offline)
    }

    /// `bench embed`'s measurement: the synthetic pairs, template a, batches of 64, `workers` threads.
    private func offlineRate() throws -> Double {
        let loaded = try PretrainedModel.load(from: URL(fileURLWithPath: model))
        let embedder = try RelationEmbedder(model: loaded, template: PromptTemplate(template),
                                            pooling: Pooling(rawValue: loaded.config.relbert?.aggregationMode ?? "") ?? .averageNoMask,
                                            threads: workers)
        let pairs = SyntheticPairs.make()
        _ = try embedder.embed(pairs)
        let start = ContinuousClock.now
        var done = 0
        repeat {
            _ = try embedder.embed(pairs, batchSize: 64)
            done += pairs.count
        } while (ContinuousClock.now - start).secondsValue < offlineSeconds
        return Double(done) / (ContinuousClock.now - start).secondsValue
    }

    private func waitUntilServing(_ endpoint: String) throws {
        let client = try ClusterClient(endpoint: endpoint)
        client.timeout = .seconds(2)
        client.retries = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if (try? client.call(Method.serveHealth, Relbert_V1_HealthRequest())) != nil { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw CLIError("the server at \(endpoint) did not become healthy within 120 s")
    }

    struct LoadResult {
        var latencies: [Double] = []
        var pairs = 0
        var errors: [String: Int] = [:]
        var elapsed = 0.0
    }

    /// Every client sends back to back until the time is up; latencies of answered requests only.
    private func load(_ endpoint: String) throws -> LoadResult {
        let shared = Mutex(LoadResult())
        let pairs = SyntheticPairs.make()
        let seconds = self.seconds, perRequest = pairsPerRequest, template = self.template
        let start = ContinuousClock.now
        let group = DispatchGroup()
        for c in 0 ..< clients {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var local = LoadResult()
                do {
                    let client = try ClusterClient(endpoint: endpoint)
                    client.timeout = .seconds(60)
                    client.retries = 0
                    var n = c * 7
                    while (ContinuousClock.now - start).secondsValue < seconds {
                        var request = Relbert_V1_EmbedRequest()
                        request.template = template
                        request.pairs = (0 ..< perRequest).map { i in Relbert_V1_Pair(pairs[(n + i) % pairs.count]) }
                        n += perRequest
                        let sent = ContinuousClock.now
                        do {
                            _ = try client.call(Method.serveEmbed, request)
                            local.latencies.append((ContinuousClock.now - sent).secondsValue)
                            local.pairs += perRequest
                        } catch let error as ProtocolError {
                            local.errors[error.status.name, default: 0] += 1
                        }
                    }
                } catch {
                    local.errors["\(error)", default: 0] += 1
                }
                shared.withLock {
                    $0.latencies += local.latencies
                    $0.pairs += local.pairs
                    $0.errors.merge(local.errors, uniquingKeysWith: +)
                }
            }
            thread.start()
        }
        group.wait()
        var result = shared.withLock { $0 }
        result.elapsed = (ContinuousClock.now - start).secondsValue
        return result
    }

    private func report(_ result: LoadResult, offline: Double?) {
        let sorted = result.latencies.sorted()
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] * 1000
        }
        let requestsPerSecond = Double(sorted.count) / result.elapsed
        let pairsPerSecond = Double(result.pairs) / result.elapsed
        let errors = result.errors.values.reduce(0, +)
        let (p50, p95, p99) = (percentile(0.5), percentile(0.95), percentile(0.99))
        var fields: [(String, String)] = [
            ("benchmark", JSONText.string("serve")), ("clients", "\(clients)"), ("pairs_per_request", "\(pairsPerRequest)"),
            ("workers", server == nil ? "\(workers)" : "null"), ("seconds", JSONText.number((result.elapsed * 100).rounded() / 100)),
            ("requests", "\(sorted.count)"), ("requests_per_s", JSONText.number((requestsPerSecond * 10).rounded() / 10)),
            ("pairs_per_s", JSONText.number((pairsPerSecond * 10).rounded() / 10)),
            ("p50_ms", JSONText.number(p50.rounded())), ("p95_ms", JSONText.number(p95.rounded())),
            ("p99_ms", JSONText.number(p99.rounded())), ("errors", "\(errors)"),
            ("error_kinds", JSONText.object(result.errors.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") })),
        ]
        if let offline {
            fields += [("offline_pairs_per_s", JSONText.number((offline * 10).rounded() / 10)), ("offline_threads", "\(workers)"),
                       ("ratio_vs_offline", JSONText.number((pairsPerSecond / offline * 1000).rounded() / 1000))]
        }
        if json {
            print(JSONText.object(fields))
            return
        }
        print(String(format: "serve: %d clients × %d pairs/request for %.1f s: %.1f requests/s, %.1f pairs/s; latency p50 %.0f ms, p95 %.0f ms, p99 %.0f ms (p99/p50 %.2f); %d error(s)",
                     clients, pairsPerRequest, result.elapsed, requestsPerSecond, pairsPerSecond, p50, p95, p99, p50 > 0 ? p99 / p50 : 0, errors))
        for (kind, count) in result.errors.sorted(by: { $0.key < $1.key }) { print("       \(count) × \(kind)") }
        if let offline {
            print(String(format: "       offline (bench embed, %d thread(s), batch 64): %.1f pairs/s; served/offline %.2fx", workers, offline, pairsPerSecond / offline))
        }
    }
}
