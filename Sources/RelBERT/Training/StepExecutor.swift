/// What runs the steps of a ``TrainingRun``: ``LocalTrainer`` in this process, or the cluster's
/// coordinator over worker processes. Either way a step is forward on every shard, the loss over
/// the whole batch, backward on every shard, the gradients summed in shard order, then AdamW on
/// `parameters` (the master copy).
public protocol StepExecutor: AnyObject {
    /// The master weights the executor updates.
    var parameters: Parameters { get }
    var optimizer: AdamW { get }
    /// What fixes the order of float summation, saved in checkpoints: the thread count of a local
    /// run (an exact resume needs the same), 0 for a cluster (whose shards follow the live workers).
    var summationKey: Int { get }
    /// Forward, loss, backward and one AdamW update. `step` keys the dropout masks.
    func train(_ batch: StepBatch, step: Int, learningRate: Float) throws -> StepResult
    /// The loss of a batch without dropout or any update (validation).
    func evaluate(_ batch: StepBatch) throws -> Float
}

/// The outcome of one training step.
public struct StepResult: Sendable, Equatable {
    public let loss: Float
    public let gradientNorm: Float
    public let learningRate: Float
    public let sequences: Int
    public let tokens: Int

    public init(loss: Float, gradientNorm: Float, learningRate: Float, sequences: Int, tokens: Int) {
        self.loss = loss
        self.gradientNorm = gradientNorm
        self.learningRate = learningRate
        self.sequences = sequences
        self.tokens = tokens
    }
}
