/// Wraps a single sequence as `start content end`, truncating the content from its end so the whole
/// fits in `maxLength` (transformers' `longest_first` for one sequence).
struct PostProcessor: Sendable {
    let startID: Int32
    let endID: Int32

    /// How many content tokens fit: `maxLength` minus the start and end tokens, never negative.
    @inline(__always)
    static func contentBudget(maxLength: Int) -> Int { max(0, maxLength - 2) }

    func encoding(content: [Int32], maxLength: Int, tokens table: TokenTable) -> Encoding {
        let kept = min(content.count, Self.contentBudget(maxLength: maxLength))
        var ids: [Int32] = []
        ids.reserveCapacity(kept + 2)
        ids.append(startID)
        ids.append(contentsOf: content[..<kept])
        ids.append(endID)
        return Encoding(ids: ids, tokens: ids.map { table.token(for: $0) })
    }
}
