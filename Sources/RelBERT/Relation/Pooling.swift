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
}
