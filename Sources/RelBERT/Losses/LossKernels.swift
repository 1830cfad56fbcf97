import Foundation

/// Small pointer kernels shared by the losses in this folder. Everything is accumulated in
/// `Double`: the losses work on a handful of rows, so precision matters more than speed here.
enum LossKernels {
    /// `sum(a[i] * b[i])` over `count` elements.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
        var sum = 0.0
        for index in 0..<count { sum += a[index] * b[index] }
        return sum
    }

    /// Copies the selected rows of `embeddings` into `destination` (`[rows.count, dimension]`,
    /// `Double`) divided by their Euclidean norms, as `torch.nn.functional.cosine_similarity` does:
    /// each norm is clamped from below at `epsilon`. Writes the clamped norms into `norms` and
    /// whether the clamp was active into `clamped` (the clamp has no gradient, so a clamped row is
    /// just scaled by `1 / epsilon`).
    static func normalizeRows(
        _ embeddings: UnsafePointer<Float>, dimension: Int, rows: [Int], epsilon: Double,
        into destination: UnsafeMutablePointer<Double>, norms: UnsafeMutablePointer<Double>,
        clamped: UnsafeMutablePointer<Bool>
    ) {
        for (position, row) in rows.enumerated() {
            let source = embeddings + row * dimension
            let target = destination + position * dimension
            var squares = 0.0
            for index in 0..<dimension {
                let value = Double(source[index])
                target[index] = value
                squares += value * value
            }
            let norm = squares.squareRoot()
            let isClamped = norm < epsilon
            let divisor = isClamped ? epsilon : norm
            norms[position] = divisor
            clamped[position] = isClamped
            let scale = 1 / divisor
            for index in 0..<dimension { target[index] *= scale }
        }
    }

    /// Adds `accumulated` (`[rows.count, dimension]`, one block per list position) into the rows
    /// `rows` of `gradient`. Repeated rows receive the sum of their blocks.
    static func addRows(
        _ accumulated: UnsafePointer<Double>, rows: [Int], dimension: Int,
        into gradient: UnsafeMutablePointer<Float>
    ) {
        for (position, row) in rows.enumerated() {
            let source = accumulated + position * dimension
            let target = gradient + row * dimension
            for index in 0..<dimension { target[index] += Float(source[index]) }
        }
    }

    /// Checks the arguments that every loss shares.
    static func validate(dimension: Int, rows: [Int], function: StaticString) {
        precondition(dimension > 0, "\(function): dimension must be positive, got \(dimension)")
        for row in rows {
            precondition(row >= 0, "\(function): row index \(row) is negative")
        }
    }
}
