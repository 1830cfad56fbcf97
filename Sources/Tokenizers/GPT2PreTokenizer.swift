/// GPT-2's pre-tokenizer, written out by hand. It splits exactly as the pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// does with leftmost-first alternation: at each position the first alternative that matches wins.
/// Every scalar is either `\s`, `\p{L}`, `\p{N}` or none of them, so the pieces cover the input.
enum GPT2PreTokenizer {
    /// Calls `body` with each piece of `text[range]`, left to right; `body` returns false to stop.
    @inline(__always)
    static func forEachPiece(in text: [Unicode.Scalar], range: Range<Int>, _ body: (Range<Int>) -> Bool) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let stop = pieceEnd(in: text, from: i, end: end)
            if !body(i..<stop) { return }
            i = stop
        }
    }

    /// The pieces of `text` as strings (for tests and debugging).
    static func pieces(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        forEachPiece(in: scalars, range: scalars.indices) { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            pieces.append(String(view))
            return true
        }
        return pieces
    }

    /// Where the match starting at `i` ends.
    @inline(__always)
    static func pieceEnd(in text: [Unicode.Scalar], from i: Int, end: Int) -> Int {
        let c = text[i]
        // 's 't 're 've 'm 'll 'd
        if c == "'" && i + 1 < end {
            switch text[i + 1] {
            case "s", "t", "m", "d":
                return i + 2
            case "r", "v":
                if i + 2 < end && text[i + 2] == "e" { return i + 3 }
            case "l":
                if i + 2 < end && text[i + 2] == "l" { return i + 3 }
            default:
                break
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
        var runStart = i
        var runClass = UnicodeClasses.gpt2Class(c)
        if c == " " && i + 1 < end {
            let nextClass = UnicodeClasses.gpt2Class(text[i + 1])
            if nextClass != .whitespace {
                runStart = i + 1
                runClass = nextClass
            }
        }
        if runClass != .whitespace {
            var j = runStart + 1
            while j < end && UnicodeClasses.gpt2Class(text[j]) == runClass { j += 1 }
            return j
        }
        // `\s+(?!\S)` then `\s+`: a whitespace run, leaving its last scalar to the next piece when a
        // non-space follows and the run is longer than one.
        var j = i + 1
        while j < end && UnicodeClasses.isWhitespace(text[j]) { j += 1 }
        if j < end && j - i > 1 { return j - 1 }
        return j
    }
}
