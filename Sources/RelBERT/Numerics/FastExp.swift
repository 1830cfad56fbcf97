/// `exp(x)` for floats without a libm call, so that loops using it vectorise.
///
/// Cephes' `expf` scheme: `x = n·ln2 + r` with |r| ≤ ln2/2 (ln2 split in two for exactness), a degree-6
/// polynomial for `eʳ`, and `2ⁿ` built in the exponent bits. Relative error about 2e-7 over the range
/// where the result is a normal float; inputs below -87 give 0 (denormals are flushed).
public enum FastExp {
    @inline(__always)
    public static func exp(_ value: Float) -> Float {
        let x = min(max(value, -87.3), 88.3)
        let n = (x * 1.44269504088896341).rounded(.toNearestOrEven)
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * r * r + r + 1
        let scale = Float(bitPattern: UInt32(truncatingIfNeeded: Int32(n) &+ 127) << 23)
        return value < -87.3 ? 0 : er * scale
    }
}
