/// The byte-level BPE model: a word's bytes start as one symbol each, then the adjacent pair with
/// the lowest merge rank (leftmost on ties) is merged until no pair has a merge, as `tokenizers` does.
struct BPEModel: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var id: Int32
    }

    /// The id of each byte's character, or -1 when the vocabulary lacks it.
    private let byteIDs: [Int32]
    /// (left id << 32 | right id) -> rank and merged id.
    private let merges: [UInt64: Merge]
    private let unknownID: Int32?
    private let fuseUnknown: Bool
    /// With `ignore_merges`, a word that is itself in the vocabulary is taken whole.
    private let wholeWords: [ByteKey: Int32]?
    private let cache: BPECache

    /// - Parameters:
    ///   - vocabulary: byte-level token string -> id.
    ///   - merges: pairs of byte-level token strings, best first; `mergeLine(i)` names entry i in errors.
    init(
        vocabulary: [String: Int32], merges: [(String, String)], source: String, mergeLine: (Int) -> Int,
        unknownToken: String? = nil, fuseUnknown: Bool = false, ignoreMerges: Bool = false,
        cacheCapacity: Int = 10_000
    ) throws(TokenizerError) {
        byteIDs = ByteLevel.byteToScalar.map { vocabulary[String($0)] ?? -1 }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocabulary[left] else {
                throw .malformedMerges(path: source, line: mergeLine(rank), reason: "token \"\(left)\" is not in the vocabulary")
            }
            guard let rightID = vocabulary[right] else {
                throw .malformedMerges(path: source, line: mergeLine(rank), reason: "token \"\(right)\" is not in the vocabulary")
            }
            guard let mergedID = vocabulary[left + right] else {
                throw .malformedMerges(path: source, line: mergeLine(rank), reason: "merged token \"\(left + right)\" is not in the vocabulary")
            }
            // A repeated pair keeps its last rank, as in `tokenizers` (its merge map is built in order).
            table[Self.pairKey(leftID, rightID)] = Merge(rank: Int32(rank), id: mergedID)
        }
        self.merges = table
        unknownID = unknownToken.flatMap { vocabulary[$0] }
        self.fuseUnknown = fuseUnknown
        if ignoreMerges {
            var words: [ByteKey: Int32] = [:]
            for (token, id) in vocabulary {
                if let bytes = ByteLevel.bytes(of: token) { words[ByteKey(bytes: bytes)] = id }
            }
            wholeWords = words
        } else {
            wholeWords = nil
        }
        cache = BPECache(capacity: cacheCapacity)
    }

    @inline(__always)
    private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the ids of the word with raw bytes `word` (one pre-tokenizer piece) to `ids`.
    func tokenize(_ word: [UInt8], into ids: inout [Int32]) {
        let key = ByteKey(bytes: word)
        if let cached = cache.ids(for: key) {
            ids.append(contentsOf: cached)
            return
        }
        let result = merge(word)
        cache.store(result, for: key)
        ids.append(contentsOf: result)
    }

    /// BPE without the cache.
    func merge(_ word: [UInt8]) -> [Int32] {
        if let wholeWords, let id = wholeWords[ByteKey(bytes: word)] { return [id] }
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        for byte in word {
            let id = byteIDs[Int(byte)]
            if id >= 0 {
                symbols.append(id)
            } else if let unknownID {
                // Bytes missing from the vocabulary become the unknown token (fused if asked).
                if !(fuseUnknown && symbols.last == unknownID) { symbols.append(unknownID) }
            }
        }
        guard symbols.count > 1 else { return symbols }

        // ranks[i] / mergedIDs[i] describe the pair (symbols[i], symbols[i + 1]).
        var ranks: [Int32] = []
        var mergedIDs: [Int32] = []
        ranks.reserveCapacity(symbols.count - 1)
        mergedIDs.reserveCapacity(symbols.count - 1)
        for i in 0..<(symbols.count - 1) {
            let merge = merges[Self.pairKey(symbols[i], symbols[i + 1])]
            ranks.append(merge?.rank ?? .max)
            mergedIDs.append(merge?.id ?? -1)
        }
        while true {
            var best = -1
            var bestRank = Int32.max
            for i in ranks.indices where ranks[i] < bestRank {
                bestRank = ranks[i]
                best = i
            }
            if best < 0 { break }
            symbols[best] = mergedIDs[best]
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            mergedIDs.remove(at: best)
            if best > 0 {
                let merge = merges[Self.pairKey(symbols[best - 1], symbols[best])]
                ranks[best - 1] = merge?.rank ?? .max
                mergedIDs[best - 1] = merge?.id ?? -1
            }
            if best < symbols.count - 1 {
                let merge = merges[Self.pairKey(symbols[best], symbols[best + 1])]
                ranks[best] = merge?.rank ?? .max
                mergedIDs[best] = merge?.id ?? -1
            }
        }
        return symbols
    }
}
