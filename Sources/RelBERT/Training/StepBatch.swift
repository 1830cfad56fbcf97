/// What one training step computes: the token sequences of its examples and how the loss reads
/// their embeddings (rows of the `[sequences, H]` embedding matrix).
public struct StepBatch: Sendable, Equatable {
    public enum Objective: Sendable, Equatable {
        /// InfoNCE over one relation: positives and negatives are rows.
        case infoNCE(positives: [Int], negatives: [Int], temperature: Float)
        /// Triplet loss: (anchor, positive, negative) rows, with the margin.
        case triplet(triplets: [TripletRows], margin: Float)
    }

    public struct TripletRows: Sendable, Equatable {
        public var anchor: Int
        public var positive: Int
        public var negative: Int
        public init(anchor: Int, positive: Int, negative: Int) {
            self.anchor = anchor
            self.positive = positive
            self.negative = negative
        }
    }

    public var sequences: [[Int32]]
    public var objective: Objective

    public init(sequences: [[Int32]], objective: Objective) {
        self.sequences = sequences
        self.objective = objective
    }

    /// The loss over the whole batch's embeddings, adding dLoss/dEmbedding into `gradient`.
    public func loss(embeddings: UnsafePointer<Float>, dimension: Int, gradient: UnsafeMutablePointer<Float>?) -> Float {
        switch objective {
        case .infoNCE(let positives, let negatives, let temperature):
            return InfoNCELoss.compute(embeddings: embeddings, dimension: dimension, positives: positives,
                                       negatives: negatives, temperature: temperature, gradient: gradient)
        case .triplet(let triplets, let margin):
            return TripletLoss.compute(embeddings: embeddings, dimension: dimension,
                                       triplets: triplets.map { (anchor: $0.anchor, positive: $0.positive, negative: $0.negative) },
                                       margin: margin, gradient: gradient)
        }
    }
}
