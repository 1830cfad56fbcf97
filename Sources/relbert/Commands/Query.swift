import ArgumentParser
import Foundation
import RelBERT
import RelBERTCluster
import RelBERTProtocol

/// Where the server is, and how long to wait: shared by every `relbert query` subcommand.
struct ServerAddress: ParsableArguments {
    @Option(help: "The server's address.") var server = "tcp://127.0.0.1:5555"
    @Option(help: "Seconds to wait for each reply before retrying on a fresh connection.") var timeout: Double = 10
    @Option(help: "Retries after a timeout (these calls are idempotent).") var retries = 3
    @OptionGroup var keys: ClientKeyOptions

    func client() throws -> ClusterClient {
        let client = try ClusterClient(endpoint: server)
        client.curve = try keys.keys()
        client.timeout = .milliseconds(Int(timeout * 1000))
        client.retries = max(0, retries)
        return client
    }
}

/// Word pairs given as arguments (head tail head tail ...), or `head<TAB>tail` lines on standard input.
struct PairArguments: ParsableArguments {
    @Argument(help: "Words, two per pair: head tail [head tail ...]. None: head<TAB>tail lines from standard input.")
    var words: [String] = []

    func pairs() throws -> [WordPair] {
        if words.isEmpty { return try PairReader.parse(try InputSource.read("-"), source: "<stdin>") }
        guard words.count % 2 == 0 else { throw ValidationError("pairs need an even number of words, got \(words.count)") }
        return stride(from: 0, to: words.count, by: 2).map { WordPair(words[$0], words[$0 + 1]) }
    }
}

extension Relbert_V1_Pair {
    init(_ pair: WordPair) {
        self.init()
        head = pair.head
        tail = pair.tail
    }
}

enum ServedText {
    static func model(_ identity: Relbert_V1_ModelIdentity) -> String {
        "model \(identity.path) (generation \(identity.generation), checksum \(identity.checksum)\(identity.jobID.isEmpty ? "" : ", job \(identity.jobID)"))"
    }

    static func timings(_ t: Relbert_V1_Timings) -> String {
        String(format: "queue %.1f ms, tokenize %.2f ms, compute %.1f ms, total %.1f ms",
               t.queueSeconds * 1000, t.tokenizeSeconds * 1000, t.computeSeconds * 1000, t.totalSeconds * 1000)
    }
}

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a server (relbert serve, or a coordinator after a job) for embeddings, analogies, nearest pairs.",
        subcommands: [EmbedQuery.self, AnalogyQuery.self, NearestQuery.self, InfoQuery.self, HealthQuery.self])

    struct EmbedQuery: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "embed", abstract: "Relation embeddings of pairs, in order.")
        @OptionGroup var address: ServerAddress
        @OptionGroup var input: PairArguments
        @Option(help: "Template: a-e or a custom text (default: the model's own).") var template: String?
        @Option(help: "Pooling (default: the model's own).") var pooling: String?
        @Option(help: "jsonl or tsv (as relbert embed).") var format: Embed.OutputFormat = .jsonl

        func run() throws {
            let pairs = try input.pairs()
            var request = Relbert_V1_EmbedRequest()
            request.pairs = pairs.map(Relbert_V1_Pair.init)
            request.template = template ?? ""
            request.pooling = pooling ?? ""
            let reply = try address.client().call(Method.serveEmbed, request)
            let body = try reply.body(as: Relbert_V1_EmbedReply.self)
            try TensorFrames.validate(reply.tensors, against: body.tensors, expecting: ["embeddings"], maxElements: 1 << 28)
            let shape = body.tensors[0].shape.map(Int.init)
            guard body.tensors[0].dtype == .f32, shape.count == 2, shape[0] == pairs.count else {
                throw CLIError("the server sent embeddings of shape \(shape) for \(pairs.count) pair(s)")
            }
            let values = FloatBuffer(count: shape[0] * shape[1])
            TensorFrames.readFloats(reply.tensors[0], dtype: .f32, into: values.pointer, count: values.count)
            var out = OutputStream()
            for (i, pair) in pairs.enumerated() {
                let row = Array(UnsafeBufferPointer(start: values.pointer + i * shape[1], count: shape[1]))
                switch format {
                case .jsonl:
                    out.write(JSONText.object([("head", JSONText.string(pair.head)), ("tail", JSONText.string(pair.tail)),
                                               ("embedding", JSONText.array(row[...]))]))
                case .tsv:
                    out.write(([pair.head, pair.tail] + row.map { "\($0)" }).joined(separator: "\t"))
                }
            }
            out.flush()
            Log.line("\(ServedText.model(body.model)); \(ServedText.timings(body.timings))")
        }
    }

    struct AnalogyQuery: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analogy", abstract: "Which candidate pair relates like the query pair: the first pair is the query, the rest are candidates.")
        @OptionGroup var address: ServerAddress
        @OptionGroup var input: PairArguments
        @Option(help: "Template (default: the model's own).") var template: String?
        @Option(help: "Pooling (default: the model's own).") var pooling: String?

        func run() throws {
            let pairs = try input.pairs()
            guard pairs.count >= 2 else { throw ValidationError("give a query pair and at least one candidate pair") }
            var request = Relbert_V1_AnalogyRequest()
            request.query = Relbert_V1_Pair(pairs[0])
            request.candidates = pairs.dropFirst().map(Relbert_V1_Pair.init)
            request.template = template ?? ""
            request.pooling = pooling ?? ""
            let reply = try address.client().call(Method.serveAnalogy, request).body(as: Relbert_V1_AnalogyReply.self)
            for (i, (pair, score)) in zip(pairs.dropFirst(), reply.scores).enumerated() {
                print("\(i == Int(reply.best) ? "*" : " ") \(pair.head)\t\(pair.tail)\t\(String(format: "%.4f", score))")
            }
            Log.line("\(ServedText.model(reply.model)); \(ServedText.timings(reply.timings))")
        }
    }

    struct NearestQuery: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nearest", abstract: "The k pairs of the server's index most relationally similar to a pair.")
        @OptionGroup var address: ServerAddress
        @Argument(help: "The pair: head tail.") var words: [String]
        @Option(name: .short, help: "How many.") var k = 10

        func run() throws {
            guard words.count == 2 else { throw ValidationError("give one pair: head tail") }
            var request = Relbert_V1_NearestRequest()
            request.pair = Relbert_V1_Pair(WordPair(words[0], words[1]))
            request.k = UInt32(max(0, k))
            let reply = try address.client().call(Method.serveNearest, request).body(as: Relbert_V1_NearestReply.self)
            for neighbour in reply.neighbours {
                print("\(String(format: "%.4f", neighbour.score))\t\(neighbour.pair.head)\t\(neighbour.pair.tail)\t\(neighbour.source)")
            }
            Log.line("\(ServedText.model(reply.model)); index of \(reply.indexSize) pairs; \(ServedText.timings(reply.timings))")
        }
    }

    struct InfoQuery: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "info", abstract: "The served model, the workers, the queue and the index.")
        @OptionGroup var address: ServerAddress
        @Flag(help: "As JSON.") var json = false

        func run() throws {
            let reply = try address.client().call(Method.serveInfo, Relbert_V1_InfoRequest()).body(as: Relbert_V1_InfoReply.self)
            if json {
                print(try reply.jsonString())
                return
            }
            print(ServedText.model(reply.model))
            print("type \(reply.modelType), \(reply.layers) layers, dimension \(reply.dimension), max length \(reply.maxLength)")
            print("template \(reply.model.template)")
            print("pooling \(reply.model.pooling)")
            print("workers alive \(reply.workersAlive)")
            print("queue \(reply.queuedPairs) of \(reply.queueLimit) pairs; at most \(reply.maxPairsPerRequest) pairs per request")
            print("index \(reply.indexBuilt) of \(reply.indexSize) pairs embedded\(reply.indexReady ? " (ready)" : "")")
            print("requests answered \(reply.requestsAnswered), failed \(reply.requestsFailed)")
        }
    }

    struct HealthQuery: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "health", abstract: "A real forward pass of a known pair on a worker, checked against the server's own vector.")
        @OptionGroup var address: ServerAddress

        func run() throws {
            let reply = try address.client().call(Method.serveHealth, Relbert_V1_HealthRequest()).body(as: Relbert_V1_HealthReply.self)
            print("SERVING \(ServedText.model(reply.model)); probe (\(reply.probe.head), \(reply.probe.tail)) differs by \(reply.maxAbsDifference); \(reply.workersAlive) worker(s); \(ServedText.timings(reply.timings))")
        }
    }
}
