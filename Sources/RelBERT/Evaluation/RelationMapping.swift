import Foundation

/// The relation mapping problems (`data/relation_mapping/data.jsonl`, 20 problems): given the terms of
/// a source domain (solar system, sun, planet, ...) and of a target domain in random order (atom,
/// nucleus, electron, ...), find which target term plays each source term's part. As in RelBERT,
/// the answer is the permutation π that maximizes the summed relational similarity
/// Σ_{i≠j} cos(r(sᵢ, sⱼ), r(t_π(i), t_π(j))) over every ordered pair of terms, found here by trying
/// every permutation (at most 9! for the bundled problems).
public struct RelationMappingProblem: Sendable, Equatable {
    public let id: String
    public let source: [String]
    /// In the gold order: `target[i]` is the part of `source[i]`.
    public let target: [String]

    public init(id: String, source: [String], target: [String]) {
        self.id = id
        self.source = source
        self.target = target
    }

    public static func load(from url: URL) throws(DatasetError) -> [RelationMappingProblem] {
        var problems: [RelationMappingProblem] = []
        for (number, line) in try TextLines.read(url).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = object["id"] as? String, let source = object["source"] as? [String],
                  let target = object["target"] as? [String], source.count == target.count, (2 ... 10).contains(source.count) else {
                throw .malformedLine(path: url.path, line: number + 1, reason: "expected id, source and target (2-10 terms each, as many targets as sources)")
            }
            problems.append(RelationMappingProblem(id: id, source: source, target: target))
        }
        guard !problems.isEmpty else { throw .empty(path: url.path) }
        return problems
    }

    /// Every ordered pair of distinct terms of both domains (what the mapping needs embedded).
    public var pairs: [WordPair] {
        [source, target].flatMap { terms in
            terms.indices.flatMap { i in terms.indices.filter { $0 != i }.map { WordPair(terms[i], terms[$0]) } }
        }
    }
}

public enum RelationMapping {
    public struct Result: Sendable {
        public let id: String
        /// `mapping[i]` is the index in the gold target list chosen for source term i.
        public let mapping: [Int]
        public var correct: Int { mapping.enumerated().filter { $0.offset == $0.element }.count }
        public var accuracy: Double { Double(correct) / Double(mapping.count) }
    }

    /// The best permutation given `similarity(i, j, k, l)` = cos(r(sᵢ, sⱼ), r(t_k, t_l)), searched
    /// exhaustively with the sum built up one term at a time.
    public static func solve(terms n: Int, similarity: (Int, Int, Int, Int) -> Float) -> [Int] {
        var table = [Float](repeating: 0, count: n * n * n * n)
        for i in 0 ..< n { for j in 0 ..< n where i != j { for k in 0 ..< n { for l in 0 ..< n where k != l {
            table[((i * n + j) * n + k) * n + l] = similarity(i, j, k, l)
        } } } }
        var best = Float.infinity * -1
        var bestMapping = Array(0 ..< n)
        var mapping = [Int](repeating: -1, count: n)
        var used = [Bool](repeating: false, count: n)
        table.withUnsafeBufferPointer { t in
            func extend(_ i: Int, _ score: Float) {
                if i == n {
                    if score > best { best = score; bestMapping = mapping }
                    return
                }
                for k in 0 ..< n where !used[k] {
                    var added: Float = 0
                    for j in 0 ..< i {
                        let l = mapping[j]
                        added += t[((i * n + j) * n + k) * n + l] + t[((j * n + i) * n + l) * n + k]
                    }
                    used[k] = true
                    mapping[i] = k
                    extend(i + 1, score + added)
                    used[k] = false
                }
            }
            extend(0, 0)
        }
        return bestMapping
    }

    /// Solves every problem with the relation embeddings `vector(pair)`. The target terms are
    /// presented in a shuffled order (seeded by the problem id), so that a tie cannot favour the gold
    /// order; the mapping is reported in gold indices.
    public static func evaluate(_ problems: [RelationMappingProblem], vector: (WordPair) -> ArraySlice<Float>) -> [Result] {
        problems.map { problem in
            let n = problem.source.count
            var random = SplitMix64(seed: ParameterChecksum.ofText(problem.id))
            let shown = random.permutation(n)   // shown[k] = the gold index of the k-th target shown
            var cache: [WordPair: (ArraySlice<Float>, Float)] = [:]
            func entry(_ a: String, _ b: String) -> (ArraySlice<Float>, Float) {
                let pair = WordPair(a, b)
                if let hit = cache[pair] { return hit }
                let v = vector(pair)
                let value = (v, Similarity.norm(v))
                cache[pair] = value
                return value
            }
            let mapping = solve(terms: n) { i, j, k, l in
                let (a, na) = entry(problem.source[i], problem.source[j])
                let (b, nb) = entry(problem.target[shown[k]], problem.target[shown[l]])
                return Similarity.dot(a, b) / max(na * nb, 1e-12)
            }
            return Result(id: problem.id, mapping: mapping.map { shown[$0] })
        }
    }
}
