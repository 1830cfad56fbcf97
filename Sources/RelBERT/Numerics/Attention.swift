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
    ///   - dropped: with attention dropout, `probabilities ⊙ mask` (same size), used for the context;
    ///     `mask` holds 0 or 1/(1-p) per probability. Both nil without dropout.
    public static func forward(context: UnsafeMutablePointer<Float>,
                               probabilities: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>,
                               starts: UnsafeBufferPointer<Int>,
                               hidden: Int, heads: Int,
                               dropped: UnsafeMutablePointer<Float>? = nil,
                               mask: UnsafePointer<Float>? = nil) {
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
                var used = UnsafePointer(p)
                if let dropped, let mask {
                    let offset = p - probabilities
                    for e in 0 ..< l * l { dropped[offset + e] = p[e] * mask[offset + e] }
                    used = UnsafePointer(dropped + offset)
                }
                // context = P V
                for i in 0 ..< l {
                    let out = context + (first + i) * hidden + h * d
                    out.update(repeating: 0, count: d)
                    let row = used + i * l
                    for j in 0 ..< l {
                        Vector.axpy(row[j], v + j * stride, into: out, count: d)
                    }
                }
                p += l * l
            }
        }
    }

    /// Backward: from `dContext` to `dQKV` (`[T, 3H]`, overwritten). `scratch` holds `max l²` floats.
    public static func backward(dQKV: UnsafeMutablePointer<Float>, dContext: UnsafePointer<Float>,
                                probabilities: UnsafePointer<Float>,
                                dropped: UnsafePointer<Float>?, mask: UnsafePointer<Float>?,
                                qkv: UnsafePointer<Float>, starts: UnsafeBufferPointer<Int>,
                                hidden: Int, heads: Int, scratch: UnsafeMutablePointer<Float>) {
        let d = hidden / heads
        let stride = 3 * hidden
        let scale = 1 / Float(d).squareRoot()
        let total = starts[starts.count - 1] - starts[0]
        dQKV.update(repeating: 0, count: total * stride)
        var offset = 0
        for s in 0 ..< starts.count - 1 {
            let first = starts[s]
            let l = starts[s + 1] - first
            if l == 0 { continue }
            let base = qkv + first * stride
            let dBase = dQKV + first * stride
            for h in 0 ..< heads {
                let q = base + h * d, k = base + hidden + h * d, v = base + 2 * hidden + h * d
                let dq = dBase + h * d, dk = dBase + hidden + h * d, dv = dBase + 2 * hidden + h * d
                let p = probabilities + offset
                let used = dropped.map { $0 + offset } ?? p
                let dP = scratch
                for i in 0 ..< l {
                    let dc = dContext + (first + i) * hidden + h * d
                    let usedRow = used + i * l
                    for j in 0 ..< l {
                        dP[i * l + j] = Vector.dot(dc, v + j * stride, count: d)
                        Vector.axpy(usedRow[j], dc, into: dv + j * stride, count: d)
                    }
                }
                if let mask {
                    let m = mask + offset
                    for e in 0 ..< l * l { dP[e] *= m[e] }
                }
                Softmax.backwardInPlace(dP, output: p, rows: l, width: l)
                for i in 0 ..< l {
                    let row = dP + i * l
                    for j in 0 ..< l {
                        let g = scale * row[j]
                        Vector.axpy(g, k + j * stride, into: dq + i * stride, count: d)
                        Vector.axpy(g, q + i * stride, into: dk + j * stride, count: d)
                    }
                }
                offset += l * l
            }
        }
    }
}
