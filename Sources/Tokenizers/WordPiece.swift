/// The WordPiece model: greedy longest-match-first over a word, continuation pieces carry a prefix
/// (`##`), and a word that cannot be covered, or is longer than `maxInputCharsPerWord` scalars,
/// becomes a single unknown token.
struct WordPiece: Sendable {
    private let wordStarts: ScalarTrie
    private let continuations: ScalarTrie
    let unknownID: Int32
    let maxInputCharsPerWord: Int

    /// `tokens` are (string, id) pairs; a later duplicate string wins.
    init<S: Sequence<(String, Int32)>>(
        tokens: S, unknownID: Int32, continuingSubwordPrefix: String = "##", maxInputCharsPerWord: Int = 100
    ) {
        var wordStarts = ScalarTrie()
        var continuations = ScalarTrie()
        let prefix = Array(continuingSubwordPrefix.unicodeScalars)
        for (token, id) in tokens {
            let scalars = Array(token.unicodeScalars)
            wordStarts.insert(scalars, id: id)
            if scalars.count > prefix.count, scalars.starts(with: prefix) {
                continuations.insert(scalars[prefix.count...], id: id)
            }
        }
        self.wordStarts = wordStarts
        self.continuations = continuations
        self.unknownID = unknownID
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Appends the ids of the word `text[word]` to `ids`.
    func tokenize(_ text: [Unicode.Scalar], word: Range<Int>, into ids: inout [Int32]) {
        if word.count > maxInputCharsPerWord {
            ids.append(unknownID)
            return
        }
        let firstPiece = ids.count
        var start = word.lowerBound
        while start < word.upperBound {
            let trie = start == word.lowerBound ? wordStarts : continuations
            guard let match = trie.longestPrefix(of: text, from: start, to: word.upperBound) else {
                ids.removeSubrange(firstPiece...)
                ids.append(unknownID)
                return
            }
            ids.append(match.id)
            start = match.end
        }
    }
}
