import RelBERT
import XCTest

/// The constants were computed with an independent Python implementation; seed 0's first output is the
/// published SplitMix64 reference value (Vigna's splitmix64.c). A change of algorithm must fail these.
final class SplitMix64Tests: XCTestCase {
    func testSeedZeroIsTheReferenceSplitMix64() {
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual((0 ..< 5).map { _ in generator.next() },
                       [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F,
                        0xF88B_B8A8_724C_81EC, 0x1B39_896A_51A8_749B])
    }

    func testKeyedStreams() {
        var keyed = SplitMix64(keys: 42, 7, 3)
        XCTAssertEqual((0 ..< 3).map { _ in keyed.next() },
                       [0xD1BE_23CC_1F87_70FB, 0xE22D_5AA6_6966_2F77, 0xF913_D4FC_9226_CFB8])
        var zero = SplitMix64(keys: 0)
        XCTAssertEqual(zero.next(), 0x8D6B_BBB8_D586_9D30)

        func first(_ keys: [UInt64]) -> [UInt64] {
            var generator = SplitMix64(keys: keys)
            return (0 ..< 4).map { _ in generator.next() }
        }
        XCTAssertEqual(first([42, 7, 3]), { var g = SplitMix64(keys: 42, 7, 3); return (0 ..< 4).map { _ in g.next() } }())
        XCTAssertNotEqual(first([1, 2]), first([2, 1]))
        XCTAssertNotEqual(first([1, 2]), first([1, 2, 0]))
        XCTAssertNotEqual(first([0]), first([0, 0]))
        var plain = SplitMix64(seed: 0)
        XCTAssertFalse(first([0]).contains(plain.next()))
    }

    func testNextFloatUses24Bits() {
        var generator = SplitMix64(seed: 0)
        let floats = (0 ..< 3).map { _ in generator.nextFloat() }
        XCTAssertEqual(floats, [Float(14_819_496) * 0x1p-24, Float(7_239_838) * 0x1p-24, Float(443_485) * 0x1p-24])
        var many = SplitMix64(seed: 1)
        var sum = 0.0
        for _ in 0 ..< 20_000 {
            let value = many.nextFloat()
            XCTAssertTrue(value >= 0 && value < 1)
            XCTAssertEqual(value * 0x1p24, (value * 0x1p24).rounded())
            sum += Double(value)
        }
        XCTAssertEqual(sum / 20_000, 0.5, accuracy: 0.01)
    }

    func testBoundedIntegersAndShuffle() {
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual((0 ..< 10).map { _ in generator.nextInt(below: 10) }, [8, 4, 0, 9, 1, 3, 1, 7, 2, 9])
        var shuffler = SplitMix64(seed: 0)
        XCTAssertEqual(shuffler.shuffled(Array(0 ..< 10)), [4, 9, 2, 5, 1, 7, 6, 0, 3, 8])
        var permuter = SplitMix64(seed: 0)
        XCTAssertEqual(permuter.permutation(10), [4, 9, 2, 5, 1, 7, 6, 0, 3, 8])

        var counter = SplitMix64(seed: 5)
        var counts = [0, 0, 0]
        for _ in 0 ..< 30_000 { counts[counter.nextInt(below: 3)] += 1 }
        for count in counts { XCTAssertEqual(Double(count), 10_000, accuracy: 500) }
    }

    func testSampleWithoutReplacement() {
        var generator = SplitMix64(seed: 9)
        let items = Array(100 ..< 200)
        let sample = generator.sample(items, count: 30)
        XCTAssertEqual(sample.count, 30)
        XCTAssertEqual(Set(sample).count, 30)
        XCTAssertTrue(Set(sample).isSubset(of: Set(items)))
        XCTAssertNotEqual(sample, Array(items.prefix(30)))
        let all = generator.sample(items, count: 500)
        XCTAssertEqual(all.sorted(), items)
        XCTAssertEqual(generator.sample(items, count: 0), [])
        var again = SplitMix64(seed: 9)
        XCTAssertEqual(again.sample(items, count: 30), sample)

        // Partial Fisher-Yates: position i swaps with a uniform j in i..<n (constants from the Python reference).
        var zero = SplitMix64(seed: 0)
        XCTAssertEqual(zero.sample(Array(0 ..< 10), count: 4), [8, 4, 2, 9])
        var zeroAgain = SplitMix64(seed: 0)
        XCTAssertEqual(zeroAgain.sample(Array(0 ..< 100), count: 6), [88, 43, 4, 97, 14, 36])
    }
}
