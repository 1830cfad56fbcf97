import RelBERT

/// Floating-point operations of the encoder, for "what fraction of the machine did we use".
enum FlopCount {
    /// Forward FLOPs per token: the four matrix products of each layer (2·H·(3H + H + 2I))
    /// plus attention (4·l·H), for a sequence of length `l`.
    static func forwardPerToken(_ c: ModelConfig, sequenceLength l: Double) -> Double {
        let h = Double(c.hiddenSize), i = Double(c.intermediateSize)
        return Double(c.numHiddenLayers) * (2 * h * (4 * h + 2 * i) + 4 * l * h)
    }
}
