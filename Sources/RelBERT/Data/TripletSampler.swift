/// (anchor, positive, negative): the anchor should end up closer to the positive than to the negative.
public struct Triplet: Sendable, Equatable {
    /// How a triplet was made.
    public enum Kind: Sendable, Equatable {
        /// anchor and positive: two different positives of one relation; negative: one of its negatives.
        case relation
        /// anchor: a positive of relation r; positive: a positive of a relation with r's parent category;
        /// negative: a positive of a relation with a different parent category.
        case parent
    }

    public let anchor: WordPair
    public let positive: WordPair
    public let negative: WordPair

    public init(anchor: WordPair, positive: WordPair, negative: WordPair) {
        self.anchor = anchor
        self.positive = positive
        self.negative = negative
    }
}

/// A batch of triplets with where each part came from (parallel arrays, one entry per triplet).
public struct TripletBatch: Sendable, Equatable {
    public let triplets: [Triplet]
    /// The relation of each triplet's anchor.
    public let relations: [String]
    /// The relation each positive was taken from (the anchor's relation for `.relation` triplets).
    public let positiveRelations: [String]
    /// The relation each negative was taken from (the anchor's relation for `.relation` triplets).
    public let negativeRelations: [String]
    public let kinds: [Triplet.Kind]

    public init(triplets: [Triplet], relations: [String], positiveRelations: [String], negativeRelations: [String],
                kinds: [Triplet.Kind]) {
        precondition([relations.count, positiveRelations.count, negativeRelations.count, kinds.count]
            .allSatisfy { $0 == triplets.count }, "TripletBatch arrays must be parallel")
        self.triplets = triplets
        self.relations = relations
        self.positiveRelations = positiveRelations
        self.negativeRelations = negativeRelations
        self.kinds = kinds
    }
}

/// The EMNLP 2021 recipe (RelBERT's triplet trainer, `relbert/trainer.py` of that time): triplet loss on
/// SemEval relations, plus "parent-category" triplets.
///
/// * Epoch `e` visits every relation once, in an order shuffled by `SplitMix64(keys: seed, ORDER, e)`; batch i
///   holds relations `order[i·relationsPerBatch ..< (i+1)·relationsPerBatch]` (the last batch may be smaller).
/// * For each relation r of the batch, with `SplitMix64(keys: seed, SAMPLES, e, index of r in relations)`:
///   `tripletsPerRelation` `.relation` triplets — two different positives of r (uniform ordered pair) and a
///   uniform negative of r — and then, when `parentTriples` is on, `tripletsPerRelation` `.parent` triplets as
///   RelBERT builds them: anchor = a uniform positive of r; positive = a positive of a uniform relation of r's
///   parent category (r itself included, as in RelBERT), never equal to the anchor; negative = a positive of a
///   relation of another parent category (parent uniform among the others, then relation, then pair), never
///   equal to the anchor or the positive. So parent triplets pull relations of one parent together and push
///   other parents away.
/// * Anchor relations need at least 2 positives and 1 negative; others are left out of `relations` (their
///   positives still serve parent triplets). With a single parent category no parent triplets can be made.
public struct TripletSampler: Sendable {
    /// The anchor relations, in the given order.
    public let relations: [RelationExamples]
    public let relationsPerBatch: Int
    public let tripletsPerRelation: Int
    public let seed: UInt64
    public let parentTriples: Bool

    /// Relations that can give parent-triplet pairs (at least one positive), and their grouping by parent.
    private let sources: [RelationExamples]
    private let sourcesByParent: [[Int]]
    /// For each anchor relation: its parent's index in `sourcesByParent`.
    private let parentOfRelation: [Int]

    public init(relations: [RelationExamples], relationsPerBatch: Int, tripletsPerRelation: Int, seed: UInt64,
                parentTriples: Bool = true) {
        precondition(relationsPerBatch > 0, "relationsPerBatch must be positive")
        precondition(tripletsPerRelation > 0, "tripletsPerRelation must be positive")
        self.relations = relations.filter { $0.positives.count >= 2 && !$0.negatives.isEmpty }
        self.relationsPerBatch = relationsPerBatch
        self.tripletsPerRelation = tripletsPerRelation
        self.seed = seed
        self.parentTriples = parentTriples

        sources = relations.filter { !$0.positives.isEmpty }
        var parentIndex: [String: Int] = [:]
        var groups: [[Int]] = []
        for (i, relation) in sources.enumerated() {
            if let p = parentIndex[relation.parent] {
                groups[p].append(i)
            } else {
                parentIndex[relation.parent] = groups.count
                groups.append([i])
            }
        }
        sourcesByParent = groups
        parentOfRelation = self.relations.map { parentIndex[$0.parent]! }
    }

    public var batchesPerEpoch: Int {
        (relations.count + relationsPerBatch - 1) / relationsPerBatch
    }

    /// The relation indices (into `relations`) in the order epoch `epoch` visits them.
    public func order(epoch: Int) -> [Int] {
        var generator = SplitMix64(keys: seed, SamplerStream.tripletOrder.rawValue, SamplerStream.key(epoch))
        return generator.permutation(relations.count)
    }

    public func batch(epoch: Int, index: Int) -> TripletBatch {
        precondition(index >= 0 && index < batchesPerEpoch, "batch index \(index) out of 0..<\(batchesPerEpoch)")
        let order = order(epoch: epoch)
        let slice = order[(index * relationsPerBatch) ..< min((index + 1) * relationsPerBatch, order.count)]
        var triplets: [Triplet] = []
        var anchors: [String] = []
        var positiveFrom: [String] = []
        var negativeFrom: [String] = []
        var kinds: [Triplet.Kind] = []
        func add(_ triplet: Triplet, _ anchor: String, _ positive: String, _ negative: String, _ kind: Triplet.Kind) {
            triplets.append(triplet)
            anchors.append(anchor)
            positiveFrom.append(positive)
            negativeFrom.append(negative)
            kinds.append(kind)
        }

        for r in slice {
            let relation = relations[r]
            let positives = relation.positives
            var generator = SplitMix64(keys: seed, SamplerStream.tripletSamples.rawValue,
                                       SamplerStream.key(epoch), SamplerStream.key(r))
            for _ in 0 ..< tripletsPerRelation {
                let a = generator.nextInt(below: positives.count)
                var b = generator.nextInt(below: positives.count - 1)
                if b >= a { b += 1 }
                let n = generator.nextInt(below: relation.negatives.count)
                add(Triplet(anchor: positives[a], positive: positives[b], negative: relation.negatives[n]),
                    relation.id, relation.id, relation.id, .relation)
            }
            guard parentTriples, sourcesByParent.count > 1 else { continue }
            let parent = parentOfRelation[r]
            for _ in 0 ..< tripletsPerRelation {
                let anchor = positives[generator.nextInt(below: positives.count)]
                let family = sourcesByParent[parent]
                let sibling = sources[family[generator.nextInt(below: family.count)]]
                var candidates = sibling.positives.filter { $0 != anchor }
                guard !candidates.isEmpty else { continue }
                let positive = candidates[generator.nextInt(below: candidates.count)]

                var otherParent = generator.nextInt(below: sourcesByParent.count - 1)
                if otherParent >= parent { otherParent += 1 }
                let others = sourcesByParent[otherParent]
                let stranger = sources[others[generator.nextInt(below: others.count)]]
                candidates = stranger.positives.filter { $0 != anchor && $0 != positive }
                guard !candidates.isEmpty else { continue }
                let negative = candidates[generator.nextInt(below: candidates.count)]
                add(Triplet(anchor: anchor, positive: positive, negative: negative),
                    relation.id, sibling.id, stranger.id, .parent)
            }
        }
        return TripletBatch(triplets: triplets, relations: anchors, positiveRelations: positiveFrom,
                            negativeRelations: negativeFrom, kinds: kinds)
    }

    public func epoch(_ epoch: Int) -> [TripletBatch] {
        (0 ..< batchesPerEpoch).map { batch(epoch: epoch, index: $0) }
    }
}
