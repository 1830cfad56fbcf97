import Foundation
import RelBERT

/// The pairs serve.Nearest searches, and (once the workers have embedded them all for the served
/// model) their unit-length relation embeddings.
struct PairIndex {
    struct Entry: Hashable {
        let pair: WordPair
        let source: String
    }

    let entries: [Entry]
    /// `[entries.count, dimension]`, unit rows; filled in the background, `built` rows so far.
    private(set) var vectors: [Float] = []
    private(set) var dimension = 0
    private(set) var built = 0
    /// Rows handed to a worker and not yet back; rows whose worker was lost go to `redo`.
    private(set) var nextToEmbed = 0
    private var redo: [Int] = []

    /// Each entry's pair without case, to leave the query out of its own answer.
    private let keys: [String]

    init(entries: [Entry]) {
        var seen = Set<WordPair>()
        self.entries = entries.filter { seen.insert($0.pair).inserted }
        keys = self.entries.map { Self.key($0.pair) }
    }

    private static func key(_ pair: WordPair) -> String { pair.head.lowercased() + "\t" + pair.tail.lowercased() }

    var isReady: Bool { built == entries.count && !entries.isEmpty }
    var count: Int { entries.count }

    /// Starts over for a model of `dimension` (every served model gets its own vectors).
    mutating func reset(dimension: Int) {
        self.dimension = dimension
        vectors = [Float](repeating: 0, count: entries.count * dimension)
        built = 0
        nextToEmbed = 0
        redo = []
    }

    /// Up to `limit` rows that still need a vector.
    mutating func take(_ limit: Int) -> [Int] {
        var rows: [Int] = []
        while rows.count < limit, let row = redo.popLast() { rows.append(row) }
        while rows.count < limit, nextToEmbed < entries.count {
            rows.append(nextToEmbed)
            nextToEmbed += 1
        }
        return rows
    }

    var hasWork: Bool { !redo.isEmpty || nextToEmbed < entries.count }

    mutating func giveBack(_ rows: [Int]) { redo.append(contentsOf: rows) }

    /// Stores a row's vector, normalized.
    mutating func store(row: Int, vector: UnsafePointer<Float>) {
        let norm = Vector.dot(vector, vector, count: dimension).squareRoot()
        let scale: Float = norm > 0 ? 1 / norm : 0
        vectors.withUnsafeMutableBufferPointer { v in
            for i in 0 ..< dimension { v[row * dimension + i] = vector[i] * scale }
        }
        built += 1
    }

    /// The `k` rows most similar (cosine) to `query`, best first, leaving out `excluding` (compared
    /// without case: an uncased model cannot tell "Paris" from "paris").
    func nearest(to query: UnsafePointer<Float>, k: Int, excluding: WordPair) -> [(entry: Entry, score: Float)] {
        let excluded = Self.key(excluding)
        let n = entries.count
        var scores = [Float](repeating: 0, count: n)
        let norm = Vector.dot(query, query, count: dimension).squareRoot()
        vectors.withUnsafeBufferPointer { v in
            scores.withUnsafeMutableBufferPointer { s in
                // [n, H] · [H] as a one-column matrix product.
                BLAS.gemm(m: n, n: 1, k: dimension, alpha: norm > 0 ? 1 / norm : 0, a: v.baseAddress!, lda: dimension,
                          b: query, ldb: 1, c: s.baseAddress!, ldc: 1)
            }
        }
        var best: [(Int, Float)] = []
        for row in 0 ..< n where keys[row] != excluded {
            let score = scores[row]
            if best.count < k {
                best.append((row, score))
                if best.count == k { best.sort { $0.1 > $1.1 } }
            } else if score > best[k - 1].1 {
                var i = k - 1
                best[i] = (row, score)
                while i > 0, best[i].1 > best[i - 1].1 { best.swapAt(i, i - 1); i -= 1 }
            }
        }
        if best.count < k { best.sort { $0.1 > $1.1 } }
        return best.map { (entries[$0.0], $0.1) }
    }
}

extension PairIndex {
    /// Every pair of the bundled SemEval-2012 Task 2 data and analogy question sets under `data`.
    static func bundled(dataDirectory data: URL) throws -> PairIndex {
        var entries: [Entry] = []
        let semeval = try SemEvalDataset.load(directory: data.appendingPathComponent("semeval2012_task2"))
        var relationOf: [WordPair: String] = [:]
        for relation in semeval.training + semeval.validation {
            for pair in relation.positives + relation.negatives where relationOf[pair] == nil { relationOf[pair] = relation.id }
        }
        for pair in semeval.allPairs() {
            entries.append(Entry(pair: pair, source: "semeval2012:\(relationOf[pair] ?? "")"))
        }
        let analogy = data.appendingPathComponent("analogy_questions")
        let sets = (try? FileManager.default.contentsOfDirectory(atPath: analogy.path).sorted()) ?? []
        for name in sets {
            for split in ["test", "valid"] {
                let file = analogy.appendingPathComponent(name).appendingPathComponent("\(split).jsonl")
                guard FileManager.default.fileExists(atPath: file.path) else { continue }
                let dataset = try AnalogyDataset.load(from: file)
                for question in dataset.questions {
                    for pair in [question.stem] + question.choices {
                        entries.append(Entry(pair: pair, source: "analogy:\(name)"))
                    }
                }
            }
        }
        guard !entries.isEmpty else { throw ServingError.badIndex("no pairs under \(data.path)") }
        return PairIndex(entries: entries)
    }

    /// `head<TAB>tail[<TAB>source]` lines (blank lines and lines starting with # are skipped).
    static func file(_ url: URL) throws -> PairIndex {
        let lines: [String]
        do { lines = try TextLines.read(url) } catch { throw ServingError.badIndex("\(error)") }
        var entries: [Entry] = []
        for (number, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw ServingError.badIndex("\(url.path):\(number + 1): expected head<TAB>tail[<TAB>source]")
            }
            entries.append(Entry(pair: WordPair(fields[0], fields[1]),
                                 source: fields.count > 2 && !fields[2].isEmpty ? fields[2] : url.lastPathComponent))
        }
        guard !entries.isEmpty else { throw ServingError.badIndex("\(url.path) holds no pairs") }
        return PairIndex(entries: entries)
    }
}
