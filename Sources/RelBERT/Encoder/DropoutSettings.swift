/// Dropout for one training forward pass: the probabilities and the keys of its masks.
/// `exampleIDs[s]` names sequence `s` of the batch globally within the step, so the masks of a sequence
/// are the same whichever shard or worker runs it.
public struct DropoutSettings: Sendable, Equatable {
    public var hidden: Float
    public var attention: Float
    public var seed: UInt64
    public var step: UInt64
    public var exampleIDs: [UInt64]

    public init(hidden: Float, attention: Float, seed: UInt64, step: UInt64, exampleIDs: [UInt64]) {
        self.hidden = hidden
        self.attention = attention
        self.seed = seed
        self.step = step
        self.exampleIDs = exampleIDs
    }

    func key(sequence: Int, site: UInt64) -> Dropout.Key {
        Dropout.Key(seed: seed, step: step, example: exampleIDs[sequence], site: site)
    }
}
