/// A batch of token sequences packed back to back, with no padding.
///
/// `starts` has one entry per sequence plus one: sequence `s` is `tokenIDs[starts[s] ..< starts[s+1]]`.
public struct TokenBatch: Sendable, Equatable {
    public private(set) var tokenIDs: [Int32]
    public private(set) var starts: [Int]

    public init(sequences: [[Int32]]) {
        var ids: [Int32] = []
        ids.reserveCapacity(sequences.reduce(0) { $0 + $1.count })
        var starts: [Int] = [0]
        starts.reserveCapacity(sequences.count + 1)
        for sequence in sequences {
            ids.append(contentsOf: sequence)
            starts.append(ids.count)
        }
        self.tokenIDs = ids
        self.starts = starts
    }

    public var sequenceCount: Int { starts.count - 1 }
    public var tokenCount: Int { tokenIDs.count }
    public var longestSequence: Int {
        var longest = 0
        for s in 0 ..< sequenceCount { longest = max(longest, starts[s + 1] - starts[s]) }
        return longest
    }

    public func length(of sequence: Int) -> Int { starts[sequence + 1] - starts[sequence] }

    public func sequence(_ s: Int) -> ArraySlice<Int32> { tokenIDs[starts[s] ..< starts[s + 1]] }

    /// The sequences `range` as a batch of their own.
    public func slice(_ range: Range<Int>) -> TokenBatch {
        var batch = TokenBatch(sequences: [])
        let first = starts[range.lowerBound], last = starts[range.upperBound]
        batch.tokenIDs = Array(tokenIDs[first ..< last])
        batch.starts = starts[range.lowerBound ... range.upperBound].map { $0 - first }
        return batch
    }

    /// Splits the sequences into at most `parts` contiguous runs of about equal token counts.
    public func balancedSplit(into parts: Int) -> [Range<Int>] {
        let n = sequenceCount
        guard parts > 1, n > 1 else { return n == 0 ? [] : [0 ..< n] }
        let parts = min(parts, n)
        var ranges: [Range<Int>] = []
        var begin = 0
        for p in 0 ..< parts {
            let remainingParts = parts - p
            if remainingParts == 1 { ranges.append(begin ..< n); break }
            let target = starts[begin] + (tokenCount - starts[begin]) / remainingParts
            var end = begin + 1
            // Leave at least one sequence for each remaining part.
            while end < n - (remainingParts - 1), starts[end + 1] <= target { end += 1 }
            // Take the boundary closest to the target.
            if end < n - (remainingParts - 1), abs(starts[end + 1] - target) < abs(starts[end] - target) { end += 1 }
            ranges.append(begin ..< end)
            begin = end
        }
        return ranges
    }
}
