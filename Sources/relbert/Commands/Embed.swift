import ArgumentParser
import Foundation
import RelBERT

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Relation embeddings for word pairs, one `head<TAB>tail` per input line, in input order.")

    @OptionGroup var options: ModelOptions

    @Option(help: "Input file of head<TAB>tail lines, or - for standard input.")
    var input: String = "-"

    @Option(help: "Output format: jsonl ({\"head\",\"tail\",\"embedding\"}) or tsv (head, tail, then the values).")
    var format: OutputFormat = .jsonl

    enum OutputFormat: String, ExpressibleByArgument { case jsonl, tsv }

    func run() throws {
        let source = input == "-" ? "<stdin>" : input
        let pairs = try PairReader.parse(try InputSource.read(input), source: source)
        let embedder = try options.makeEmbedder()
        var out = OutputStream()
        var first = 0
        while first < pairs.count {
            let chunk = Array(pairs[first ..< min(first + options.batchSize * options.threadCount, pairs.count)])
            let vectors = try embedder.embed(chunk, batchSize: options.batchSize)
            for (i, pair) in chunk.enumerated() {
                switch format {
                case .jsonl:
                    out.write(JSONText.object([("head", JSONText.string(pair.head)),
                                               ("tail", JSONText.string(pair.tail)),
                                               ("embedding", JSONText.array(vectors.row(i)))]))
                case .tsv:
                    out.write(([pair.head, pair.tail] + vectors.row(i).map { "\($0)" }).joined(separator: "\t"))
                }
            }
            first += chunk.count
        }
        out.flush()
    }
}
