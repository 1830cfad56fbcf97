import Foundation

/// Unicode NFD without a Foundation call per text: each scalar's full canonical decomposition is
/// computed once (Hangul syllables arithmetically, others through Foundation) and remembered, then
/// the canonical ordering algorithm sorts each run of combining marks by combining class.
final class CanonicalDecomposer: @unchecked Sendable {
    private let lock = NSLock()
    private var memo: [UInt32: [Unicode.Scalar]] = [:]
    private let capacity: Int

    init(capacity: Int = 20_000) {
        self.capacity = capacity
    }

    /// NFD of `scalars`.
    func nfd(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count + 4)
        var needsOrdering = false
        for c in scalars {
            // Below U+00C0 nothing has a canonical decomposition or a combining class.
            if c.value < 0xC0 {
                out.append(c)
                continue
            }
            let before = out.count
            appendDecomposition(of: c, to: &out)
            if !needsOrdering {
                for k in before..<out.count where out[k].properties.canonicalCombiningClass.rawValue != 0 {
                    needsOrdering = true
                    break
                }
            }
        }
        if needsOrdering { Self.canonicalOrder(&out) }
        return out
    }

    private func appendDecomposition(of c: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
        let v = c.value
        // Hangul syllables: L V (T), Unicode 3.12.
        if v >= 0xAC00 && v <= 0xD7A3 {
            let index = v - 0xAC00
            out.append(Unicode.Scalar(0x1100 + index / 588) ?? c)
            out.append(Unicode.Scalar(0x1161 + (index % 588) / 28) ?? c)
            if index % 28 != 0 { out.append(Unicode.Scalar(0x11A7 + index % 28) ?? c) }
            return
        }
        lock.lock()
        let known = memo[v]
        lock.unlock()
        if let known {
            out.append(contentsOf: known)
            return
        }
        let decomposition = Array(String(c).decomposedStringWithCanonicalMapping.unicodeScalars)
        lock.lock()
        if memo.count < capacity { memo[v] = decomposition }
        lock.unlock()
        out.append(contentsOf: decomposition)
    }

    /// Stable-sorts every maximal run of non-starters (combining class != 0) by combining class.
    static func canonicalOrder(_ scalars: inout [Unicode.Scalar]) {
        var i = 0
        let n = scalars.count
        while i < n {
            guard scalars[i].properties.canonicalCombiningClass.rawValue != 0 else {
                i += 1
                continue
            }
            var end = i + 1
            while end < n && scalars[end].properties.canonicalCombiningClass.rawValue != 0 { end += 1 }
            if end - i > 1 {
                // Insertion sort: runs are short and it is stable.
                for j in (i + 1)..<end {
                    let item = scalars[j]
                    let itemClass = item.properties.canonicalCombiningClass.rawValue
                    var k = j
                    while k > i && scalars[k - 1].properties.canonicalCombiningClass.rawValue > itemClass {
                        scalars[k] = scalars[k - 1]
                        k -= 1
                    }
                    scalars[k] = item
                }
            }
            i = end
        }
    }
}
