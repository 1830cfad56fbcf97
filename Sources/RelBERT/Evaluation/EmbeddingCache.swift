import Foundation
import SafeTensors

/// Relation embeddings of distinct pairs, computed once per model and prompt and kept on disk, so a
/// full evaluation embeds each pair once however many datasets and runs use it.
///
/// A cache folder is `<root>/<key>/` with `pairs.tsv` (head<TAB>tail per row) and
/// `embeddings.safetensors` ("embeddings" F32 [rows, H], metadata "rows"). The key is the weights'
/// ``ParameterChecksum``, the template text, the pooling and the maximum length, hashed. Both files
/// are written atomically (pairs first), and the tensor file's metadata holds the checksum of the
/// pairs file: a folder whose two files disagree is ignored and rewritten.
public struct EmbeddingCache {
    public let directory: URL
    private var rows: [WordPair: Int] = [:]
    private var pairs: [WordPair] = []
    private var values: [Float] = []
    public let dimension: Int
    /// Pairs embedded by the last `fill` (0 when everything came from the cache).
    public private(set) var computed = 0

    public init(root: URL, embedder: RelationEmbedder) {
        let model = embedder.model
        let checksum = ParameterChecksum.of(model.parameters.pointer, count: model.parameters.layout.totalCount)
        var key = ParameterChecksum.ofText("\(checksum)|\(embedder.template.text)|\(embedder.pooling.rawValue)|\(embedder.maxLength)")
        key = key == 0 ? 1 : key
        directory = root.appendingPathComponent(String(format: "%016llx", key))
        dimension = model.config.hiddenSize
        load()
    }

    public var count: Int { pairs.count }

    private mutating func load() {
        let pairsFile = directory.appendingPathComponent("pairs.tsv")
        let tensorFile = directory.appendingPathComponent("embeddings.safetensors")
        guard let text = try? String(contentsOf: pairsFile, encoding: .utf8),
              let file = try? SafeTensorsFile(contentsOf: tensorFile),
              let stored = try? file.floats("embeddings") else { return }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        // The two files are replaced one after the other; the checksum of the pairs in the tensor
        // file's metadata proves they belong together (two runs writing the same cache at once).
        guard stored.count == lines.count * dimension, file.metadata["rows"] == "\(lines.count)",
              file.metadata["pairs_fnv1a"].map({ $0 == String(ParameterChecksum.ofText(text)) }) ?? true else { return }
        var loaded: [WordPair] = []
        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2 else { return }
            loaded.append(WordPair(String(fields[0]), String(fields[1])))
        }
        pairs = loaded
        values = stored
        rows = Dictionary(loaded.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Embeds and stores the pairs of `wanted` not cached yet; afterwards ``vector(_:)`` answers for
    /// every pair of `wanted`.
    public mutating func fill(_ wanted: [WordPair], embedder: RelationEmbedder, batchSize: Int = 64) throws {
        var missing: [WordPair] = []
        var seen = Set<WordPair>()
        for pair in wanted where rows[pair] == nil && seen.insert(pair).inserted { missing.append(pair) }
        computed = missing.count
        if !missing.isEmpty {
            let fresh = try embedder.embed(missing, batchSize: batchSize)
            for (i, pair) in missing.enumerated() { rows[pair] = pairs.count + i }
            pairs += missing
            values += fresh.values
            try save()
        }
    }

    /// A cached pair's embedding (no copy), or nil when it is not cached.
    public func vector(_ pair: WordPair) -> ArraySlice<Float>? {
        rows[pair].map { values[$0 * dimension ..< ($0 + 1) * dimension] }
    }

    private func save() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var text = ""
        for pair in pairs where pair.head.contains("\t") || pair.head.contains("\n") || pair.tail.contains("\t") || pair.tail.contains("\n") {
            throw DatasetError.malformedLine(path: directory.path, line: 0, reason: "a word with a tab or newline cannot be cached: \(pair)")
        }
        text.reserveCapacity(pairs.count * 16)
        for pair in pairs { text += "\(pair.head)\t\(pair.tail)\n" }
        try Data(text.utf8).write(to: directory.appendingPathComponent("pairs.tsv"), options: .atomic)
        var writer = SafeTensorsWriter()
        writer.metadata["rows"] = "\(pairs.count)"
        writer.metadata["pairs_fnv1a"] = String(ParameterChecksum.ofText(text))
        try writer.add("embeddings", shape: [pairs.count, dimension], floats: values)
        try writer.write(to: directory.appendingPathComponent("embeddings.safetensors"))
    }
}
