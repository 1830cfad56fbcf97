/// A dense layer `y = x · Wᵀ + b` (weights `[out, in]`, as PyTorch stores them).
public enum Linear {
    /// `out[rows, outFeatures] = residual + inp · Wᵀ + bias`, where `residual` (same shape as `out`,
    /// may be nil) is added in the same pass: the residual connections of a transformer layer cost nothing extra.
    public static func forward(out: UnsafeMutablePointer<Float>,
                               inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               residual: UnsafePointer<Float>? = nil,
                               rows: Int, inFeatures: Int, outFeatures: Int) {
        if rows == 0 { return }
        for r in 0 ..< rows {
            let o = out + r * outFeatures
            switch (bias, residual) {
            case let (b?, res?):
                let rr = res + r * outFeatures
                for j in 0 ..< outFeatures { o[j] = rr[j] + b[j] }
            case let (b?, nil):
                o.update(from: b, count: outFeatures)
            case let (nil, res?):
                o.update(from: res + r * outFeatures, count: outFeatures)
            case (nil, nil):
                o.update(repeating: 0, count: outFeatures)
            }
        }
        BLAS.gemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: inp, lda: inFeatures, b: weight, ldb: inFeatures,
                  beta: 1, c: out, ldc: outFeatures)
    }

    /// Backward of `out = inp · Wᵀ + b`:
    /// `dInp (+)= dOut · W`, `dWeight += dOutᵀ · inp`, `dBias += Σ_rows dOut`.
    /// `accumulateInput` adds into `dInp` (a residual branch's gradient is already there) instead of overwriting it.
    /// A nil `dWeight` or `dBias` skips that gradient (only the input's is wanted).
    public static func backward(dInp: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
                                dBias: UnsafeMutablePointer<Float>?,
                                dOut: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rows: Int, inFeatures: Int, outFeatures: Int, accumulateInput: Bool) {
        if rows == 0 { return }
        if let dInp {
            BLAS.gemm(m: rows, n: inFeatures, k: outFeatures, a: dOut, lda: outFeatures,
                      b: weight, ldb: inFeatures, beta: accumulateInput ? 1 : 0, c: dInp, ldc: inFeatures)
        }
        if let dWeight {
            BLAS.gemm(transposeA: true, m: outFeatures, n: inFeatures, k: rows, a: dOut, lda: outFeatures,
                      b: inp, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
        }
        if let dBias {
            for r in 0 ..< rows {
                Vector.axpy(1, dOut + r * outFeatures, into: dBias, count: outFeatures)
            }
        }
    }
}
