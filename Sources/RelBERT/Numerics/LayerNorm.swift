/// Layer normalisation over the last dimension, with the per-row mean and 1/std kept for backward.
public enum LayerNorm {
    public static func forward(out: UnsafeMutablePointer<Float>,
                               mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                               inp: UnsafePointer<Float>,
                               gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                               rows: Int, width: Int, eps: Float) {
        let n = Float(width)
        for r in 0 ..< rows {
            let x = inp + r * width
            var sum: Float = 0
            for i in 0 ..< width { sum += x[i] }
            let m = sum / n
            var squares: Float = 0
            for i in 0 ..< width { let d = x[i] - m; squares += d * d }
            let s = 1 / (squares / n + eps).squareRoot()
            let o = out + r * width
            for i in 0 ..< width { o[i] = (x[i] - m) * s * gamma[i] + beta[i] }
            mean[r] = m
            rstd[r] = s
        }
    }
}
