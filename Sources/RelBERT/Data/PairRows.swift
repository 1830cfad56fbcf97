/// The distinct pairs of a batch in order of first appearance, each with its row: a batch of triplets
/// becomes one sequence per distinct pair, and its triplets refer to those rows.
public struct PairRows {
    public private(set) var pairs: [WordPair] = []
    private var rows: [WordPair: Int] = [:]

    public init() {}

    /// The row of `pair`, appending it when it is new.
    public mutating func row(_ pair: WordPair) -> Int {
        if let known = rows[pair] { return known }
        rows[pair] = pairs.count
        pairs.append(pair)
        return pairs.count - 1
    }
}
