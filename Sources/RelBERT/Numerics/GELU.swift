/// The exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, as BERT's `hidden_act: gelu` defines it.
///
/// `erf` is a rational approximation (the one Eigen and XLA use for float: odd degree-13 over even
/// degree-8 polynomials, clamped to [-4, 4]); it is accurate to a few float ulps and, with no branches
/// and no calls, the loop vectorises.
public enum GELU {
    @inline(__always)
    public static func erf(_ value: Float) -> Float {
        let x = min(max(value, -4), 4)
        let x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        p = p * x
        var q: Float = -1.45660718464996e-05
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return p / q
    }

    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let invSqrt2: Float = 0.70710678118654752
        for i in 0 ..< count {
            let x = inp[i]
            out[i] = 0.5 * x * (1 + erf(x * invSqrt2))
        }
    }

    /// `dInp = dOut · (Φ(x) + x·φ(x))`.
    public static func backward(dInp: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, count: Int) {
        let invSqrt2: Float = 0.70710678118654752
        let invSqrt2Pi: Float = 0.39894228040143268
        for i in 0 ..< count {
            let x = inp[i]
            let cdf = 0.5 * (1 + erf(x * invSqrt2))
            let pdf = invSqrt2Pi * FastExp.exp(-0.5 * x * x)
            dInp[i] = dOut[i] * (cdf + x * pdf)
        }
    }
}
