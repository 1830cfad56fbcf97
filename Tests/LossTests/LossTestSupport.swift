import Foundation
import SafeTensors
import XCTest

/// The golden tensors of one fixture model that the loss tests use (`template_d`, 12 rows).
struct LossFixture {
    /// `Tests/LossTests/<this file>` -> `Tests/` -> `Tests/Fixtures`.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    let name: String
    let rows: Int
    let dimension: Int
    let embeddings: [Float]
    let nceLoss: Float
    let tripletLoss: Float
    let nceGradient: [Float]

    init(_ name: String) throws {
        let url = Self.directory.appendingPathComponent(name).appendingPathComponent("golden.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        let shape = try XCTUnwrap(file.info("template_d.embeddings")?.shape)
        XCTAssertEqual(shape.count, 2)
        self.name = name
        rows = shape[0]
        dimension = shape[1]
        embeddings = try file.floats("template_d.embeddings")
        nceGradient = try file.floats("grad.nce.embeddings")
        XCTAssertEqual(try XCTUnwrap(file.info("grad.nce.embeddings")?.shape), shape)
        let nce = try file.floats("loss.nce")
        let triplet = try file.floats("loss.triplet")
        XCTAssertEqual(nce.count, 1)
        XCTAssertEqual(triplet.count, 1)
        nceLoss = nce[0]
        tripletLoss = triplet[0]
    }

    /// `golden.json`: positives are rows 0-3, negatives rows 4-11.
    static let ncePositives = Array(0..<4)
    static let nceNegatives = Array(4..<12)
    /// `golden.json`: anchors rows 0-3, positives rows 4-7, negatives rows 8-11.
    static let triplets: [(anchor: Int, positive: Int, negative: Int)] = (0..<4).map { ($0, $0 + 4, $0 + 8) }
}

/// A deterministic source of test inputs (SplitMix64 + Box-Muller).
struct LossTestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    mutating func normals(_ count: Int, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(normal() * scale) }
    }
}

enum FiniteDifference {
    /// Central differences of `f` with respect to every entry of `values`. The perturbed values are
    /// rounded to `Float`, so the step used in the quotient is the one actually taken.
    static func gradient(of values: [Float], step: Double = 1e-3, _ f: ([Float]) -> Double) -> [Double] {
        var work = values
        var result = [Double](repeating: 0, count: values.count)
        for index in values.indices {
            let original = values[index]
            let plus = Float(Double(original) + step)
            let minus = Float(Double(original) - step)
            work[index] = plus
            let fPlus = f(work)
            work[index] = minus
            let fMinus = f(work)
            work[index] = original
            result[index] = (fPlus - fMinus) / (Double(plus) - Double(minus))
        }
        return result
    }
}

/// `max |a - b| / max |b|` (b is the reference).
func relativeMaxError<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: [A], _ b: [B]) -> Double {
    precondition(a.count == b.count)
    var difference = 0.0, scale = 0.0
    for index in a.indices {
        difference = max(difference, abs(Double(a[index]) - Double(b[index])))
        scale = max(scale, abs(Double(b[index])))
    }
    return difference / scale
}

func relativeError(_ value: Double, _ reference: Double) -> Double {
    abs(value - reference) / abs(reference)
}
