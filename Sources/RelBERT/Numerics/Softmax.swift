#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Row-wise softmax, in place, numerically stable (subtract the row maximum).
public enum Softmax {
    public static func forwardInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for r in 0 ..< rows {
            let row = x + r * width
            var maximum = -Float.infinity
            for j in 0 ..< width { maximum = max(maximum, row[j]) }
            var sum: Float = 0
            for j in 0 ..< width {
                let e = expf(row[j] - maximum)
                row[j] = e
                sum += e
            }
            let inverse = 1 / sum
            for j in 0 ..< width { row[j] *= inverse }
        }
    }
}
