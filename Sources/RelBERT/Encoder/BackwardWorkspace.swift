/// Scratch buffers for one backward pass, reused from step to step (no allocation once large enough).
public final class BackwardWorkspace: @unchecked Sendable {
    public private(set) var tokenCapacity = 0
    public private(set) var longestCapacity = 0
    private(set) var dX = FloatBuffer(count: 0)
    private(set) var dPrevious = FloatBuffer(count: 0)
    private(set) var dResidual = FloatBuffer(count: 0)
    private(set) var dDense = FloatBuffer(count: 0)
    private(set) var dNorm = FloatBuffer(count: 0)
    private(set) var dContext = FloatBuffer(count: 0)
    private(set) var dIntermediate = FloatBuffer(count: 0)
    private(set) var dQKV = FloatBuffer(count: 0)
    private(set) var scores = FloatBuffer(count: 0)

    public init() {}

    func reserve(tokens: Int, longest: Int, config: ModelConfig) {
        if longest > longestCapacity {
            scores = FloatBuffer(count: longest * longest)
            longestCapacity = longest
        }
        guard tokens > tokenCapacity else { return }
        let h = config.hiddenSize
        dX = FloatBuffer(count: tokens * h)
        dPrevious = FloatBuffer(count: tokens * h)
        dResidual = FloatBuffer(count: tokens * h)
        dDense = FloatBuffer(count: tokens * h)
        dNorm = FloatBuffer(count: tokens * h)
        dContext = FloatBuffer(count: tokens * h)
        dIntermediate = FloatBuffer(count: tokens * config.intermediateSize)
        dQKV = FloatBuffer(count: tokens * 3 * h)
        tokenCapacity = tokens
    }
}
