/// One InfoNCE training step: a relation's positives, to be pulled together, and negatives to push them from.
public struct ContrastiveStep: Sendable, Equatable {
    /// The relation id of the positives (`"1a"`).
    public let relation: String
    /// All of the relation's training positives (8 for SemEval), in dataset order.
    public let positives: [WordPair]
    /// The relation's own negatives first (dataset order), then other relations' positives in sampled order.
    /// All distinct, none equal to a positive.
    public let negatives: [WordPair]

    public init(relation: String, positives: [WordPair], negatives: [WordPair]) {
        self.relation = relation
        self.positives = positives
        self.negatives = negatives
    }
}

/// Streams identified by keys: which purpose a generator serves, so that e.g. the relation order of epoch 3 and
/// the negatives of step 3 never share a stream. Values are arbitrary but fixed (changing them changes the data).
enum SamplerStream: UInt64 {
    case contrastiveOrder = 0x434F_4E54_4F52_4400      // "CONTORD"
    case contrastiveNegatives = 0x434F_4E54_4E45_4700  // "CONTNEG"
    case tripletOrder = 0x5452_4950_4F52_4400          // "TRIPORD"
    case tripletSamples = 0x5452_4950_5341_4D00        // "TRIPSAM"

    /// An `Int` (epoch, index) as a generator key; negative values keep distinct keys.
    static func key(_ value: Int) -> UInt64 { UInt64(bitPattern: Int64(value)) }
}

/// The default training recipe: one relation per step, InfoNCE over its positives against negatives.
///
/// * Epoch `e` visits every relation once, in an order shuffled by `SplitMix64(keys: seed, ORDER, e)`.
/// * Step (e, i) takes relation r = order[i]; positives = r's training positives; negatives = r's own negatives
///   (always, first, up to `negatives` of them), then a sample without replacement from the other relations'
///   positives — de-duplicated, and never a pair equal to one of r's positives or already among its negatives —
///   drawn with `SplitMix64(keys: seed, NEGATIVES, e, index of r in `relations`)`, until there are `negatives`.
///   If the pool is too small the step simply has fewer.
/// * `step(epoch:index:)` computes one step from its keys alone (the order costs one shuffle of the relation
///   indices), so training can resume mid-epoch; everything is a pure function of (relations, negatives, seed).
public struct ContrastiveSampler: Sendable {
    /// The relations sampled from: those given that have at least one positive, in the given order.
    public let relations: [RelationExamples]
    /// Negatives per step (own negatives included).
    public let negatives: Int
    public let seed: UInt64

    /// Per relation: its own negatives, distinct, without its positives, truncated to `negatives`.
    private let ownNegatives: [[WordPair]]
    /// Per relation: other relations' positives, distinct, minus its positives and own negatives, stable order.
    private let pools: [[WordPair]]

    public init(relations: [RelationExamples], negatives: Int = 64, seed: UInt64) {
        precondition(negatives >= 0, "negatives must not be negative")
        let used = relations.filter { !$0.positives.isEmpty }
        self.relations = used
        self.negatives = negatives
        self.seed = seed

        var allPositives: [WordPair] = []
        var seen = Set<WordPair>()
        for relation in used {
            for pair in relation.positives where seen.insert(pair).inserted { allPositives.append(pair) }
        }
        var own: [[WordPair]] = []
        var pools: [[WordPair]] = []
        for relation in used {
            let positives = Set(relation.positives)
            var taken = Set<WordPair>()
            var mine: [WordPair] = []
            for pair in relation.negatives where mine.count < negatives && !positives.contains(pair) {
                if taken.insert(pair).inserted { mine.append(pair) }
            }
            own.append(mine)
            pools.append(allPositives.filter { !positives.contains($0) && !taken.contains($0) })
        }
        ownNegatives = own
        self.pools = pools
    }

    public var stepsPerEpoch: Int { relations.count }

    /// The relation indices (into `relations`) in the order epoch `epoch` visits them.
    public func order(epoch: Int) -> [Int] {
        var generator = SplitMix64(keys: seed, SamplerStream.contrastiveOrder.rawValue, SamplerStream.key(epoch))
        return generator.permutation(relations.count)
    }

    public func step(epoch: Int, index: Int) -> ContrastiveStep {
        precondition(index >= 0 && index < stepsPerEpoch, "step index \(index) out of 0..<\(stepsPerEpoch)")
        return step(epoch: epoch, relation: order(epoch: epoch)[index])
    }

    public func epoch(_ epoch: Int) -> [ContrastiveStep] {
        order(epoch: epoch).map { step(epoch: epoch, relation: $0) }
    }

    private func step(epoch: Int, relation r: Int) -> ContrastiveStep {
        var result = ownNegatives[r]
        let wanted = negatives - result.count
        if wanted > 0 {
            var generator = SplitMix64(keys: seed, SamplerStream.contrastiveNegatives.rawValue,
                                       SamplerStream.key(epoch), SamplerStream.key(r))
            result += generator.sample(pools[r], count: wanted)
        }
        return ContrastiveStep(relation: relations[r].id, positives: relations[r].positives, negatives: result)
    }
}
