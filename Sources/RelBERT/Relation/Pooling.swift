/// How the token states of a prompt become one relation embedding.
public enum Pooling: String, Sendable, CaseIterable {
    /// Mean over every token except padding and the mask token (special tokens included). RelBERT's default.
    case averageNoMask = "average_no_mask"
    /// Mean over every token except padding.
    case average
    /// The mask token's state.
    case mask

    /// Pools the states `[l, H]` of one sequence into `out[H]`.
    /// Returns false when `.mask` finds no mask token (the prompt was truncated before it).
    func pool(states: UnsafePointer<Float>, tokenIDs: ArraySlice<Int32>, maskTokenID: Int32,
              hidden: Int, out: UnsafeMutablePointer<Float>) -> Bool {
        out.update(repeating: 0, count: hidden)
        var used = 0
        for (t, id) in tokenIDs.enumerated() {
            switch self {
            case .averageNoMask: if id == maskTokenID { continue }
            case .average: break
            case .mask: if id != maskTokenID { continue }
            }
            let row = states + t * hidden
            for i in 0 ..< hidden { out[i] += row[i] }
            used += 1
            if self == .mask { break }
        }
        guard used > 0 else { return false }
        let scale = 1 / Float(used)
        for i in 0 ..< hidden { out[i] *= scale }
        return true
    }

    /// Backward of ``pool``: spreads `dOut[H]` over the pooled tokens' rows of `dStates` (`[l, H]`,
    /// overwritten; tokens that were not pooled get zero).
    func backward(dOut: UnsafePointer<Float>, tokenIDs: ArraySlice<Int32>, maskTokenID: Int32,
                  hidden: Int, dStates: UnsafeMutablePointer<Float>) {
        dStates.update(repeating: 0, count: tokenIDs.count * hidden)
        var selected: [Int] = []
        for (t, id) in tokenIDs.enumerated() {
            switch self {
            case .averageNoMask: if id == maskTokenID { continue }
            case .average: break
            case .mask: if id != maskTokenID { continue }
            }
            selected.append(t)
            if self == .mask { break }
        }
        guard !selected.isEmpty else { return }
        let scale = 1 / Float(selected.count)
        for t in selected {
            Vector.axpy(scale, dOut, into: dStates + t * hidden, count: hidden)
        }
    }

    /// Pools every sequence of a packed batch: `states` `[T, H]` → `out` `[sequences, H]`.
    /// Returns the index of the first sequence that could not be pooled, if any.
    public func pool(batch: TokenBatch, states: UnsafePointer<Float>, maskTokenID: Int32, hidden: Int,
                     out: UnsafeMutablePointer<Float>) -> Int? {
        var failed: Int?
        for s in 0 ..< batch.sequenceCount {
            let ok = pool(states: states + batch.starts[s] * hidden, tokenIDs: batch.sequence(s),
                          maskTokenID: maskTokenID, hidden: hidden, out: out + s * hidden)
            if !ok, failed == nil { failed = s }
        }
        return failed
    }

    /// Backward over a packed batch: `dOut` `[sequences, H]` → `dStates` `[T, H]`.
    public func backward(batch: TokenBatch, dOut: UnsafePointer<Float>, maskTokenID: Int32, hidden: Int,
                         dStates: UnsafeMutablePointer<Float>) {
        for s in 0 ..< batch.sequenceCount {
            backward(dOut: dOut + s * hidden, tokenIDs: batch.sequence(s), maskTokenID: maskTokenID,
                     hidden: hidden, dStates: dStates + batch.starts[s] * hidden)
        }
    }
}
