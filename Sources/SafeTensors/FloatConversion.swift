/// Exact conversions between `Float` and the 16-bit float formats IEEE binary16 (`F16`) and
/// bfloat16 (`BF16`), as bit patterns.
///
/// Widening (`f16ToFloat`, `bf16ToFloat`) is exact for every input, including signed zeros,
/// subnormals, infinities and NaN payloads. Narrowing (`floatToF16`, `floatToBF16`) rounds to
/// nearest, ties to even, overflows to infinity, and maps every NaN to a quiet NaN of the same sign.
/// The bulk functions read and write little-endian 16-bit values at any alignment.
public enum FloatConversion {

    // MARK: Scalars

    /// bfloat16 bits to `Float` (exact: bfloat16 is the top half of a binary32).
    @inlinable @inline(__always)
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `Float` to bfloat16 bits, round to nearest even; NaN stays NaN (quiet, same sign).
    @inlinable @inline(__always)
    public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 {
            // NaN: keep sign and the top of the payload, force the quiet bit so that the
            // truncated payload can never turn into infinity.
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        // Adding 0x7FFF plus the lowest kept bit rounds half to even; a carry out of the
        // mantissa bumps the exponent, which is also right (up to and including infinity).
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// IEEE binary16 bits to `Float` (exact).
    @inlinable @inline(__always)
    public static func f16ToFloat(_ bits: UInt16) -> Float {
        let h = UInt32(bits)
        let sign = (h & 0x8000) << 16
        let magnitude = h & 0x7FFF
        if magnitude >= 0x7C00 {
            // Infinity or NaN: all-ones exponent, payload shifted into place.
            return Float(bitPattern: sign | 0x7F80_0000 | ((magnitude & 0x03FF) << 13))
        }
        if magnitude >= 0x0400 {
            // Normal: rebias the exponent from 15 to 127 (add 112 << 23).
            return Float(bitPattern: sign | ((magnitude << 13) &+ 0x3800_0000))
        }
        // Zero or subnormal: magnitude * 2^-24, exact in binary32 (a normal number there).
        let value = Float(magnitude) * 0x1p-24
        return Float(bitPattern: sign | value.bitPattern)
    }

    /// `Float` to IEEE binary16 bits, round to nearest even (also into and out of the subnormal
    /// range); values from 65520 up become infinity; NaN stays NaN (quiet, same sign).
    @inlinable @inline(__always)
    public static func floatToF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }                      // infinity
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x03FF)  // NaN
        }
        if magnitude >= 0x4780_0000 {
            return sign | 0x7C00                                                      // >= 65536
        }
        if magnitude >= 0x3880_0000 {
            // Normal in binary16 (>= 2^-14): rebias, then round away the low 13 bits half to even.
            // A carry may reach the exponent, and 65520 ..< 65536 correctly becomes infinity.
            let rebased = magnitude &- 0x3800_0000
            let rounded = rebased &+ 0x0FFF &+ ((rebased >> 13) & 1)
            return sign | UInt16(truncatingIfNeeded: rounded >> 13)
        }
        if magnitude <= 0x3300_0000 {
            // <= 2^-25: rounds to zero (2^-25 itself is a tie, and 0 is even).
            return sign
        }
        // Subnormal in binary16: result = round(|value| * 2^24). |value| = significand * 2^(e-150)
        // with a 24-bit significand, so shift the significand right by 126 - e (14 ... 24).
        let exponent = magnitude >> 23
        let significand = (magnitude & 0x007F_FFFF) | 0x0080_0000
        let shift = 126 &- exponent
        let quotient = significand >> shift
        let remainder = significand & ((1 << shift) &- 1)
        let half = UInt32(1) << (shift &- 1)
        let roundUp: UInt32 = (remainder > half || (remainder == half && quotient & 1 == 1)) ? 1 : 0
        // quotient + 1 may reach 0x400, which is exactly the encoding of the smallest normal.
        return sign | UInt16(truncatingIfNeeded: quotient &+ roundUp)
    }

    // MARK: Bulk, little-endian, any alignment

    /// Decodes `destination.count` little-endian bfloat16 values from `source`.
    /// `source.count` must be `2 * destination.count` (checked with a precondition).
    public static func bf16ToFloat(_ source: UnsafeRawBufferPointer,
                                   into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(source.count == destination.count &* 2, "bf16ToFloat: byte count mismatch")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        decodeBF16(src, dst, destination.count)
    }

    /// Encodes `source` as little-endian bfloat16 into `destination`
    /// (`destination.count` must be `2 * source.count`).
    public static func floatToBF16(_ source: UnsafeBufferPointer<Float>,
                                   into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count == source.count &* 2, "floatToBF16: byte count mismatch")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        encodeBF16(src, dst, source.count)
    }

    /// Decodes `destination.count` little-endian binary16 values from `source`.
    public static func f16ToFloat(_ source: UnsafeRawBufferPointer,
                                  into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(source.count == destination.count &* 2, "f16ToFloat: byte count mismatch")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        decodeF16(src, dst, destination.count)
    }

    /// Encodes `source` as little-endian binary16 into `destination`
    /// (`destination.count` must be `2 * source.count`).
    public static func floatToF16(_ source: UnsafeBufferPointer<Float>,
                                  into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count == source.count &* 2, "floatToF16: byte count mismatch")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        encodeF16(src, dst, source.count)
    }

    // MARK: Loops (no bounds checks, no allocation)

    @usableFromInline
    static func decodeBF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
            dst[i] = bf16ToFloat(bits)
        }
    }

    @usableFromInline
    static func decodeF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
            dst[i] = f16ToFloat(bits)
        }
    }

    @usableFromInline
    static func encodeBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        for i in 0..<count {
            dst.storeBytes(of: floatToBF16(src[i]).littleEndian, toByteOffset: i &* 2, as: UInt16.self)
        }
    }

    @usableFromInline
    static func encodeF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        for i in 0..<count {
            dst.storeBytes(of: floatToF16(src[i]).littleEndian, toByteOffset: i &* 2, as: UInt16.self)
        }
    }
}
