/// BERT's pre-tokenizer: split on whitespace (dropped), and make every punctuation character a
/// word of its own.
enum BertPreTokenizer {
    /// Calls `body` with the index range of each word of `text[range]`, left to right.
    /// `body` returns false to stop early.
    @inline(__always)
    static func forEachWord(in text: [Unicode.Scalar], range: Range<Int>, _ body: (Range<Int>) -> Bool) {
        var start = -1
        var i = range.lowerBound
        let n = range.upperBound
        while i < n {
            let c = text[i]
            if UnicodeClasses.isWhitespace(c) {
                if start >= 0 {
                    if !body(start..<i) { return }
                    start = -1
                }
            } else if UnicodeClasses.isBertPunctuation(c) {
                if start >= 0 {
                    if !body(start..<i) { return }
                    start = -1
                }
                if !body(i..<(i + 1)) { return }
            } else if start < 0 {
                start = i
            }
            i += 1
        }
        if start >= 0 { _ = body(start..<n) }
    }

    /// The words of `text` as strings (for tests and debugging).
    static func words(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var words: [String] = []
        forEachWord(in: scalars, range: scalars.indices) { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            words.append(String(view))
            return true
        }
        return words
    }
}
