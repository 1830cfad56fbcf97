/// Every hyper-parameter of a fine-tuning run; saved as `finetuning_config.json`.
public struct TrainingConfiguration: Sendable, Equatable, Codable {
    public enum Loss: String, Sendable, Codable, CaseIterable { case nce, triplet }

    public var loss: Loss = .nce
    public var epochs: Int = 3
    public var learningRate: Float = 5e-5
    public var warmupSteps: Int = 10
    public var schedule: LearningRateSchedule.Shape = .constant
    /// InfoNCE: negatives per step (the relation's own negatives, then other relations' positives).
    public var negatives: Int = 64
    public var temperature: Float = 0.05
    /// Triplet loss: margin, relations per batch, triplets per relation, parent-category triples.
    public var margin: Float = 1
    public var relationsPerBatch: Int = 8
    public var tripletsPerRelation: Int = 4
    public var parentTriples: Bool = true
    public var template: String = "a"
    /// The `template` value that trains with the model folder's learned prompt (`prompt.json`).
    public static let learnedTemplate = "learned"
    public var pooling: String = "mask"
    public var maxLength: Int = 64
    public var seed: UInt64 = 0
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1
    public var weightDecay: Float = 0.01
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Clip the global gradient norm to this, when set.
    public var maxGradientNorm: Float? = nil
    /// Write a resumable checkpoint every this many steps (and at the end of every epoch).
    public var checkpointEvery: Int = 20

    public init() {}

    public func validate() throws(TrainingError) {
        func check(_ condition: Bool, _ message: String) throws(TrainingError) {
            if !condition { throw .invalidSettings(message) }
        }
        try check(epochs >= 1, "epochs must be at least 1")
        try check(learningRate > 0 && learningRate.isFinite, "the learning rate must be positive")
        try check(warmupSteps >= 0, "warm-up steps must not be negative")
        try check(negatives >= 1, "negatives must be at least 1")
        try check(temperature > 0, "the temperature must be positive")
        try check(margin >= 0, "the margin must not be negative")
        try check(relationsPerBatch >= 1 && tripletsPerRelation >= 1, "batches need at least one relation and one triplet")
        try check((0 ..< 1).contains(hiddenDropout) && (0 ..< 1).contains(attentionDropout), "dropout must be in [0, 1)")
        try check(checkpointEvery >= 1, "checkpoint interval must be at least 1")
        try check(maxLength >= 3, "max length must be at least 3")
    }
}
