/// Row-wise softmax, in place, numerically stable (subtract the row maximum).
public enum Softmax {
    public static func forwardInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for r in 0 ..< rows {
            let row = x + r * width
            var maximum = -Float.infinity
            for j in 0 ..< width { maximum = max(maximum, row[j]) }
            var sum: Float = 0
            for j in 0 ..< width {
                let e = FastExp.exp(row[j] - maximum)
                row[j] = e
                sum += e
            }
            let inverse = 1 / sum
            for j in 0 ..< width { row[j] *= inverse }
        }
    }

    /// Backward of a row-wise softmax with output `y`: `dx = y ⊙ (dy − Σ y·dy)`, written in place of `dy`.
    public static func backwardInPlace(_ dy: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, rows: Int, width: Int) {
        for r in 0 ..< rows {
            let g = dy + r * width, p = y + r * width
            var dot: Float = 0
            for j in 0 ..< width { dot += g[j] * p[j] }
            for j in 0 ..< width { g[j] = p[j] * (g[j] - dot) }
        }
    }
}
