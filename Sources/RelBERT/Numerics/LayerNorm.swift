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

    /// Backward (llm.c's layernorm_backward): `dInp (+)= …`, `dGamma += Σ x̂·dOut`, `dBeta += Σ dOut`.
    public static func backward(dInp: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>,
                                dBeta: UnsafeMutablePointer<Float>,
                                dOut: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                                gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                rows: Int, width: Int, accumulateInput: Bool) {
        let n = Float(width)
        for r in 0 ..< rows {
            let x = inp + r * width, dy = dOut + r * width, dx = dInp + r * width
            let m = mean[r], s = rstd[r]
            var meanDNorm: Float = 0, meanDNormXHat: Float = 0
            for i in 0 ..< width {
                let xHat = (x[i] - m) * s
                let dNorm = gamma[i] * dy[i]
                meanDNorm += dNorm
                meanDNormXHat += dNorm * xHat
            }
            meanDNorm /= n
            meanDNormXHat /= n
            for i in 0 ..< width {
                let xHat = (x[i] - m) * s
                let dNorm = gamma[i] * dy[i]
                dBeta[i] += dy[i]
                dGamma[i] += xHat * dy[i]
                let g = (dNorm - meanDNorm - xHat * meanDNormXHat) * s
                dx[i] = accumulateInput ? dx[i] + g : g
            }
        }
    }
}
