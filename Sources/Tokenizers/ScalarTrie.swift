/// A trie over Unicode scalars mapping token strings to ids, for longest-prefix lookups without
/// building candidate strings. Keys compare scalar by scalar (byte-exact, unlike `String` equality,
/// which treats canonically equivalent strings as equal).
struct ScalarTrie: Sendable {
    /// (node << 21 | scalar) -> child node. Node 0 is the root.
    private var children: [UInt64: Int32] = [:]
    /// The token id ending at each node, or -1.
    private var values: [Int32] = [-1]

    init() {}

    /// Adds `key` with `id`; a later insertion of the same key wins.
    mutating func insert<S: Sequence<Unicode.Scalar>>(_ key: S, id: Int32) {
        var node: Int32 = 0
        for c in key {
            let edge = UInt64(node) << 21 | UInt64(c.value)
            if let child = children[edge] {
                node = child
            } else {
                let child = Int32(values.count)
                values.append(-1)
                children[edge] = child
                node = child
            }
        }
        values[Int(node)] = id
    }

    /// The id of exactly `key`, if present.
    func id<C: Collection<Unicode.Scalar>>(of key: C) -> Int32? {
        var node: Int32 = 0
        for c in key {
            guard let child = children[UInt64(node) << 21 | UInt64(c.value)] else { return nil }
            node = child
        }
        let value = values[Int(node)]
        return value >= 0 ? value : nil
    }

    /// The longest non-empty key that is a prefix of `text[start..<end]`: its id and end index.
    @inline(__always)
    func longestPrefix(of text: [Unicode.Scalar], from start: Int, to end: Int) -> (id: Int32, end: Int)? {
        var node: Int32 = 0
        var best: (id: Int32, end: Int)? = nil
        var i = start
        while i < end {
            guard let child = children[UInt64(node) << 21 | UInt64(text[i].value)] else { break }
            node = child
            i += 1
            let value = values[Int(node)]
            if value >= 0 { best = (value, i) }
        }
        return best
    }
}
