/// Multi-head self-attention over packed sequences.
///
/// Sequences are stored back to back with no padding (`starts[s] ..< starts[s+1]` are the tokens of
/// sequence `s`), so no token attends to padding and no work is spent on it: the result for every real
/// token equals a padded batch with an attention mask.
///
/// The per-head products are tiny (`l × l × d` with l ≈ 20, d = 32), so they are written out here with
/// SIMD rather than sent to `cblas_sgemm`, whose per-call overhead and internal buffer locking would
/// cost more than the arithmetic (there are `sequences × heads × 2` of them per layer).
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
                for i in 0 ..< l {
                    let qi = q + i * stride
                    let row = p + i * l
                    for j in 0 ..< l {
                        row[j] = scale * Vector.dot(qi, k + j * stride, count: d)
                    }
                }
                Softmax.forwardInPlace(p, rows: l, width: l)
                // context = P V
                for i in 0 ..< l {
                    let out = context + (first + i) * hidden + h * d
                    out.update(repeating: 0, count: d)
                    let row = p + i * l
                    for j in 0 ..< l {
                        Vector.axpy(row[j], v + j * stride, into: out, count: d)
                    }
                }
                p += l * l
            }
        }
    }
}
