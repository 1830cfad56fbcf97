/// Multiple-choice analogy accuracy: embed the stem and every candidate, pick the candidate whose
/// relation embedding has the highest cosine similarity with the stem's.
public struct AnalogyEvaluator {
    public enum Direction: String, Sendable, CaseIterable {
        /// cos(stem, choice)
        case forward
        /// cos(reversed stem, reversed choice)
        case reverse
        /// cos(forward) × cos(reverse)
        case bidirection
    }

    public struct Result: Sendable, Equatable {
        public let dataset: String
        public let path: String
        public let questions: Int
        public let correct: Int
        public var accuracy: Double { questions == 0 ? 0 : Double(correct) / Double(questions) }
        public let predictions: [Int]
    }

    public let embedder: RelationEmbedder
    public let batchSize: Int
    public let direction: Direction

    public init(embedder: RelationEmbedder, batchSize: Int = 64, direction: Direction = .forward) {
        self.embedder = embedder
        self.batchSize = batchSize
        self.direction = direction
    }

    /// Evaluates every dataset, embedding each distinct pair of all of them exactly once.
    public func evaluate(_ datasets: [AnalogyDataset]) throws(EmbeddingError) -> [Result] {
        let pairs = Self.pairs(of: datasets, direction: direction)
        let embeddings = try embedder.embed(pairs, batchSize: batchSize)
        let row = Dictionary(uniqueKeysWithValues: pairs.enumerated().map { ($1, $0) })
        return Self.score(datasets, direction: direction) { embeddings.row(row[$0]!) }
    }

    /// The distinct pairs `direction` needs to answer every question of `datasets`, in first-seen order.
    public static func pairs(of datasets: [AnalogyDataset], direction: Direction) -> [WordPair] {
        var seen = Set<WordPair>()
        var pairs: [WordPair] = []
        for dataset in datasets {
            for question in dataset.questions {
                for pair in [question.stem] + question.choices {
                    if direction != .reverse, seen.insert(pair).inserted { pairs.append(pair) }
                    if direction != .forward, seen.insert(pair.reversed).inserted { pairs.append(pair.reversed) }
                }
            }
        }
        return pairs
    }

    /// Answers every question with the relation embeddings `vector(pair)` (which must cover
    /// `pairs(of: datasets, direction: direction)`): the highest-scoring candidate wins, the earlier on a tie.
    public static func score(_ datasets: [AnalogyDataset], direction: Direction,
                             vector: (WordPair) -> ArraySlice<Float>) -> [Result] {
        var norms: [WordPair: Float] = [:]
        func cosine(_ a: WordPair, _ b: WordPair) -> Float {
            let x = vector(a), y = vector(b)
            let nx = norms[a] ?? { let n = Similarity.norm(x); norms[a] = n; return n }()
            let ny = norms[b] ?? { let n = Similarity.norm(y); norms[b] = n; return n }()
            return Similarity.dot(x, y) / max(nx * ny, 1e-12)
        }
        return datasets.map { dataset in
            var correct = 0
            var predictions: [Int] = []
            predictions.reserveCapacity(dataset.questions.count)
            for question in dataset.questions {
                var best = 0
                var bestScore = -Float.infinity
                for (c, choice) in question.choices.enumerated() {
                    let score: Float
                    switch direction {
                    case .forward: score = cosine(question.stem, choice)
                    case .reverse: score = cosine(question.stem.reversed, choice.reversed)
                    case .bidirection: score = cosine(question.stem, choice) * cosine(question.stem.reversed, choice.reversed)
                    }
                    if score > bestScore { bestScore = score; best = c }
                }
                predictions.append(best)
                if best == question.answer { correct += 1 }
            }
            return Result(dataset: dataset.name, path: dataset.path, questions: dataset.questions.count,
                          correct: correct, predictions: predictions)
        }
    }
}

public enum Similarity {
    public static func dot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                var sum: Float = 0
                for i in 0 ..< min(x.count, y.count) { sum += x[i] * y[i] }
                return sum
            }
        }
    }

    public static func norm(_ a: ArraySlice<Float>) -> Float { dot(a, a).squareRoot() }

    public static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        dot(a, b) / max(norm(a) * norm(b), 1e-12)
    }
}
