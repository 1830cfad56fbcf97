/// Multi-head self-attention over packed sequences.
///
/// Sequences are stored back to back with no padding (`starts[s] ..< starts[s+1]` are the tokens of
/// sequence `s`), so no token attends to padding and no work is spent on it: the result for every real
/// token equals a padded batch with an attention mask.
public enum Attention {
    /// Number of floats of attention probabilities kept for a batch: `heads · Σ lᵢ²`.
    public static func probabilityCount(starts: UnsafeBufferPointer<Int>, heads: Int) -> Int {
        var total = 0
        for s in 0 ..< starts.count - 1 {
            let l = starts[s + 1] - starts[s]
            total += l * l
        }
        return total * heads
    }

    /// - Parameters:
    ///   - context: `[T, H]` output, heads side by side.
    ///   - probabilities: `heads · Σ lᵢ²` floats; sequence by sequence, head by head, `[l, l]` each.
    ///   - qkv: `[T, 3H]`, query, key and value projections side by side.
    public static func forward(context: UnsafeMutablePointer<Float>,
                               probabilities: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>,
                               starts: UnsafeBufferPointer<Int>,
                               hidden: Int, heads: Int) {
        let d = hidden / heads
        let stride = 3 * hidden
        let scale = 1 / Float(d).squareRoot()
        var p = probabilities
        for s in 0 ..< starts.count - 1 {
            let first = starts[s]
            let l = starts[s + 1] - first
            if l == 0 { continue }
            let base = qkv + first * stride
            for h in 0 ..< heads {
                let q = base + h * d
                let k = base + hidden + h * d
                let v = base + 2 * hidden + h * d
                // scores = scale · Q Kᵀ
                BLAS.gemm(transposeB: true, m: l, n: l, k: d, alpha: scale,
                          a: q, lda: stride, b: k, ldb: stride, beta: 0, c: p, ldc: l)
                Softmax.forwardInPlace(p, rows: l, width: l)
                // context = P V
                BLAS.gemm(m: l, n: d, k: l, a: p, lda: l, b: v, ldb: stride,
                          beta: 0, c: context + first * hidden + h * d, ldc: hidden)
                p += l * l
            }
        }
    }
}
