import XCTest
@testable import SafeTensors

final class FloatConversionTests: XCTestCase {

    // MARK: binary16, reference numbers from numpy (np.float32(x).astype(np.float16) and back)

    /// (float32 bits, float16 bits) pairs from numpy's float32 -> float16 cast.
    private let f16Narrowing: [(UInt32, UInt16)] = [
        (0x0000_0000, 0x0000),   // 0
        (0x8000_0000, 0x8000),   // -0
        (0x3380_0000, 0x0001),   // 2^-24, smallest subnormal
        (0x477F_E000, 0x7BFF),   // 65504, largest finite
        (0x7F80_0000, 0x7C00),   // inf
        (0xFF80_0000, 0xFC00),   // -inf
        (0x7FC0_0000, 0x7E00),   // nan
        (0xFFC0_0000, 0xFE00),   // -nan
        (0x3EAA_AAAB, 0x3555),   // Float(1/3)
        (0x477F_EF00, 0x7BFF),   // 65519 rounds down to 65504
        (0x477F_EFFF, 0x7BFF),   // 65519.996
        (0x477F_F000, 0x7C00),   // 65520 rounds (tie, to even) to inf
        (0x322B_CC77, 0x0000),   // 1e-8 underflows to 0
        (0x3300_0000, 0x0000),   // 2^-25: tie between 0 and 2^-24, to even 0
        (0x3300_0001, 0x0001),   // just above 2^-25
        (0x33C0_0000, 0x0002),   // 1.5 * 2^-24: tie, to even 2
        (0x3440_0000, 0x0003),   // 3 * 2^-24
        (0x34A0_0000, 0x0005),   // 5 * 2^-24
        (0x3420_0000, 0x0002),   // 2.5 * 2^-24: tie, to even 2
        (0x3490_0000, 0x0004),   // 4.5 * 2^-24: tie, to even 4
        (0x387F_C000, 0x03FF),   // largest subnormal
        (0x387F_E000, 0x0400),   // rounds up into the smallest normal
        (0x3880_0000, 0x0400),   // 2^-14, smallest normal
        (0x3F80_1000, 0x3C00),   // 1 + 2^-11: tie, to even 1.0
        (0x3F80_3000, 0x3C02),   // 1 + 3 * 2^-11: tie, to even
        (0xC020_0000, 0xC100),   // -2.5
        (0x3DCC_CCCD, 0x2E66),   // Float(0.1)
    ]

    /// (float16 bits, float32 bits) pairs from numpy's float16 -> float32 cast.
    private let f16Widening: [(UInt16, UInt32)] = [
        (0x0000, 0x0000_0000),
        (0x8000, 0x8000_0000),
        (0x0001, 0x3380_0000),   // 5.960464477539063e-08
        (0x8001, 0xB380_0000),
        (0x03FF, 0x387F_C000),   // 6.097555160522461e-05
        (0x0400, 0x3880_0000),   // 6.103515625e-05
        (0x3555, 0x3EAA_A000),   // 0.333251953125
        (0x2E66, 0x3DCC_C000),   // 0.0999755859375
        (0x7BFF, 0x477F_E000),   // 65504
        (0x3C00, 0x3F80_0000),   // 1
        (0xC000, 0xC000_0000),   // -2
        (0x7C00, 0x7F80_0000),   // inf
        (0xFC00, 0xFF80_0000),   // -inf
        (0x7C01, 0x7F80_2000),   // signalling nan, payload kept
        (0xFE00, 0xFFC0_0000),   // -nan
    ]

    func testF16NarrowingMatchesNumpy() {
        for (input, expected) in f16Narrowing {
            let got = FloatConversion.floatToF16(Float(bitPattern: input))
            XCTAssertEqual(got, expected, "float bits \(String(input, radix: 16))")
        }
        XCTAssertEqual(FloatConversion.floatToF16(65504), 0x7BFF)
        XCTAssertEqual(FloatConversion.floatToF16(1.0 / 3.0), 0x3555)
        XCTAssertEqual(FloatConversion.floatToF16(.leastNonzeroMagnitude), 0x0000)
        XCTAssertEqual(FloatConversion.floatToF16(.greatestFiniteMagnitude), 0x7C00)
    }

    func testF16WideningMatchesNumpy() {
        for (input, expected) in f16Widening {
            let got = FloatConversion.f16ToFloat(input)
            XCTAssertEqual(got.bitPattern, expected, "half bits \(String(input, radix: 16))")
        }
        XCTAssertEqual(FloatConversion.f16ToFloat(0x0001), 5.960464477539063e-08)
        XCTAssertEqual(FloatConversion.f16ToFloat(0x3555), 0.333251953125)
        XCTAssertTrue(FloatConversion.f16ToFloat(0x7E00).isNaN)
    }

    /// Signalling NaNs stay NaN (numpy keeps 0x7C01 where we produce a quiet 0x7E00; both are NaN).
    func testF16NaNIsPreserved() {
        for bits: UInt32 in [0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF, 0x7F80_2000, 0x7FC0_0000] {
            let half = FloatConversion.floatToF16(Float(bitPattern: bits))
            XCTAssertEqual(half & 0x7C00, 0x7C00, "exponent all ones for \(String(bits, radix: 16))")
            XCTAssertNotEqual(half & 0x03FF, 0, "mantissa non-zero for \(String(bits, radix: 16))")
            XCTAssertEqual(half & 0x8000, UInt16(bits >> 16) & 0x8000, "sign kept")
        }
    }

    /// Every binary16 value widens exactly: narrowing it again gives the same bits back.
    func testF16AllPatternsRoundTrip() {
        for bits in 0...UInt16.max {
            let float = FloatConversion.f16ToFloat(bits)
            if bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0 {
                XCTAssertTrue(float.isNaN, "\(bits)")
                continue
            }
            let back = FloatConversion.floatToF16(float)
            if back != bits { XCTFail("half \(String(bits, radix: 16)) -> \(float) -> \(String(back, radix: 16))") }
        }
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// Cross-check against the standard library's `Float16` on all 65536 inputs and on ~1M float
    /// bit patterns spread over the whole range (every 4099th).
    func testF16AgreesWithStandardLibraryFloat16() {
        for bits in 0...UInt16.max {
            let ours = FloatConversion.f16ToFloat(bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(ours.isNaN)
            } else if ours.bitPattern != reference.bitPattern {
                XCTFail("widen \(String(bits, radix: 16)): \(ours) vs \(reference)")
            }
        }
        var failures = 0
        var pattern: UInt64 = 0
        while pattern <= UInt64(UInt32.max) {
            let float = Float(bitPattern: UInt32(pattern))
            let ours = FloatConversion.floatToF16(float)
            let reference = Float16(float).bitPattern
            let bothNaN = float.isNaN && (ours & 0x7C00 == 0x7C00) && (ours & 0x3FF != 0)
            if !bothNaN && ours != reference {
                failures += 1
                if failures < 10 { XCTFail("narrow \(String(pattern, radix: 16)): \(ours) vs \(reference)") }
            }
            pattern += 4099
        }
        XCTAssertEqual(failures, 0)
    }

    /// Exact ties (midpoints between neighbouring binary16 values) and their float neighbours,
    /// over the whole finite range and both signs, against `Float16`.
    func testF16TiesAgreeWithStandardLibraryFloat16() {
        var failures = 0
        for bits in UInt16(0)..<0x7BFF {
            let low = FloatConversion.f16ToFloat(bits)
            let high = FloatConversion.f16ToFloat(bits + 1)
            let middle = (low + high) / 2   // exact: both have at most 11 significant bits
            for value in [middle, middle.nextDown, middle.nextUp, -middle] {
                if FloatConversion.floatToF16(value) != Float16(value).bitPattern {
                    failures += 1
                    if failures < 10 { XCTFail("narrow \(value) (\(String(value.bitPattern, radix: 16)))") }
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }
    #endif

    // MARK: bfloat16, reference: round-to-nearest-even of the top 16 bits (as torch does)

    /// (float32 bits, bfloat16 bits) from the reference
    /// `((u + 0x7FFF + ((u >> 16) & 1)) >> 16)`, NaN -> `(u >> 16) | 0x40`, computed in numpy.
    private let bf16Narrowing: [(UInt32, UInt16)] = [
        (0x0000_0000, 0x0000),   // 0
        (0x8000_0000, 0x8000),   // -0
        (0x0001_0000, 0x0001),   // 9.183549615799121e-41, smallest bf16 subnormal
        (0x0000_0001, 0x0000),   // smallest float subnormal rounds to 0
        (0x7F7F_0000, 0x7F7F),   // 3.3895313892515355e+38, largest finite bf16
        (0x7F7F_FFFF, 0x7F80),   // Float.greatestFiniteMagnitude rounds to inf
        (0x7F80_0000, 0x7F80),   // inf
        (0xFF80_0000, 0xFF80),   // -inf
        (0x7FC0_0000, 0x7FC0),   // nan
        (0x3EAA_AAAB, 0x3EAB),   // Float(1/3) -> 0.333984375
        (0xBEAA_AAAB, 0xBEAB),   // -1/3
        (0x3F80_8000, 0x3F80),   // 1.00390625: tie, to even 1.0
        (0x3F81_8000, 0x3F82),   // 1.01171875: tie, to even 1.015625
        (0x3F80_8001, 0x3F81),   // just above the tie
        (0x4049_0FDB, 0x4049),   // Float.pi -> 3.140625
        (0x0001_16C2, 0x0001),   // 1e-40
    ]

    func testBF16NarrowingMatchesReference() {
        for (input, expected) in bf16Narrowing {
            let got = FloatConversion.floatToBF16(Float(bitPattern: input))
            XCTAssertEqual(got, expected, "float bits \(String(input, radix: 16))")
        }
        XCTAssertEqual(FloatConversion.floatToBF16(1.0 / 3.0), 0x3EAB)
        XCTAssertEqual(FloatConversion.bf16ToFloat(0x3EAB), 0.333984375)
        XCTAssertEqual(Double(FloatConversion.bf16ToFloat(0x0001)), 9.183549615799121e-41)   // 2^-133
        XCTAssertEqual(FloatConversion.bf16ToFloat(0x7F7F), 3.3895313892515355e+38)
        XCTAssertEqual(FloatConversion.bf16ToFloat(0x8000).sign, .minus)
        XCTAssertEqual(FloatConversion.bf16ToFloat(0xFF80), -.infinity)
    }

    func testBF16NaNIsPreserved() {
        // Payloads whose top 7 bits are zero would truncate to infinity without the quiet bit.
        for bits: UInt32 in [0x7F80_0001, 0xFF80_0001, 0x7FC0_0000, 0x7FFF_FFFF, 0xFFFF_FFFF] {
            let bf = FloatConversion.floatToBF16(Float(bitPattern: bits))
            XCTAssertTrue(FloatConversion.bf16ToFloat(bf).isNaN, "\(String(bits, radix: 16))")
            XCTAssertEqual(bf & 0x8000, UInt16(bits >> 16) & 0x8000, "sign kept")
        }
    }

    func testBF16AllPatternsRoundTrip() {
        for bits in 0...UInt16.max {
            let float = FloatConversion.bf16ToFloat(bits)
            XCTAssertEqual(float.bitPattern, UInt32(bits) << 16)
            if float.isNaN { continue }
            let back = FloatConversion.floatToBF16(float)
            if back != bits { XCTFail("bf16 \(String(bits, radix: 16)) -> \(String(back, radix: 16))") }
        }
    }

    /// The narrowing is monotone and never off by more than half a unit: check against a
    /// double-precision rounding on a spread of float bit patterns.
    func testBF16RoundingIsNearest() {
        var pattern: UInt64 = 0
        while pattern <= 0x7F7F_FFFF {
            let float = Float(bitPattern: UInt32(pattern))
            let bf = FloatConversion.floatToBF16(float)
            let below = Float(bitPattern: UInt32(pattern) & 0xFFFF_0000)
            let above = Float(bitPattern: (UInt32(pattern) & 0xFFFF_0000) &+ 0x0001_0000)
            let chosen = FloatConversion.bf16ToFloat(bf)
            XCTAssertTrue(chosen == below || chosen == above)
            let distance = abs(Double(chosen) - Double(float))
            let other = chosen == below ? above : below
            XCTAssertLessThanOrEqual(distance, abs(Double(other) - Double(float)))
            pattern += 65_537 * 3 + 1
        }
    }

    // MARK: Bulk conversion at odd alignment

    func testBulkConversionsHandleUnalignedBuffers() {
        let values: [Float] = [0, -0.0, 1.0 / 3.0, 65504, -2.5, .infinity, 5.960464477539063e-08, 1e-3]
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: values.count * 2 + 1, alignment: 8)
        defer { raw.deallocate() }
        let unaligned = UnsafeMutableRawBufferPointer(rebasing: raw[1...])   // odd address
        var decoded = [Float](repeating: .nan, count: values.count)

        values.withUnsafeBufferPointer { FloatConversion.floatToF16($0, into: unaligned) }
        decoded.withUnsafeMutableBufferPointer {
            FloatConversion.f16ToFloat(UnsafeRawBufferPointer(unaligned), into: $0)
        }
        for (value, got) in zip(values, decoded) {
            XCTAssertEqual(got.bitPattern,
                           FloatConversion.f16ToFloat(FloatConversion.floatToF16(value)).bitPattern)
        }
        XCTAssertEqual(unaligned[4], 0x55)   // 1/3 -> 0x3555, little-endian
        XCTAssertEqual(unaligned[5], 0x35)

        values.withUnsafeBufferPointer { FloatConversion.floatToBF16($0, into: unaligned) }
        decoded.withUnsafeMutableBufferPointer {
            FloatConversion.bf16ToFloat(UnsafeRawBufferPointer(unaligned), into: $0)
        }
        for (value, got) in zip(values, decoded) {
            XCTAssertEqual(got.bitPattern,
                           FloatConversion.bf16ToFloat(FloatConversion.floatToBF16(value)).bitPattern)
        }
        XCTAssertEqual(decoded[2], 0.333984375)
        XCTAssertEqual(unaligned[4], 0xAB)   // 1/3 -> 0x3EAB, little-endian
        XCTAssertEqual(unaligned[5], 0x3E)
    }
}
