/// A piece of the input: either text still to be tokenized, or an added token already resolved.
enum TextSegment: Equatable, Sendable {
    case text(Range<Int>)
    case token(Int32)
}

/// Finds added tokens in a text and splits around them, like `tokenizers`' `AddedVocabulary`:
/// leftmost-longest matching, `single_word` matches dropped when inside a word, `lstrip` / `rstrip`
/// absorbing neighbouring whitespace into the token.
struct SpecialTokenSplitter: Sendable {
    private struct Pattern: Sendable {
        var scalars: [Unicode.Scalar]
        var token: AddedToken
    }

    private let patterns: [Pattern]
    /// Pattern indices by first scalar, longest pattern first.
    private let byFirstScalar: [UInt32: [Int]]
    /// Bit c set when some pattern starts with ASCII scalar c (fast rejection).
    private let asciiFirst: (UInt64, UInt64)

    var isEmpty: Bool { patterns.isEmpty }

    /// `patternOf` gives the scalars to search for (the normalized content for normalized tokens).
    /// Tokens with the same content are kept once (the first).
    init(tokens: [AddedToken], patternOf: (AddedToken) -> [Unicode.Scalar] = { Array($0.content.unicodeScalars) }) {
        var patterns: [Pattern] = []
        var seen = Set<[UInt32]>()
        for token in tokens {
            let scalars = patternOf(token)
            guard !scalars.isEmpty, seen.insert(scalars.map(\.value)).inserted else { continue }
            patterns.append(Pattern(scalars: scalars, token: token))
        }
        var byFirst: [UInt32: [Int]] = [:]
        var low: UInt64 = 0
        var high: UInt64 = 0
        for (index, pattern) in patterns.enumerated() {
            let first = pattern.scalars[0].value
            byFirst[first, default: []].append(index)
            if first < 64 { low |= 1 << first } else if first < 128 { high |= 1 << (first - 64) }
        }
        for key in byFirst.keys {
            byFirst[key]?.sort { patterns[$0].scalars.count > patterns[$1].scalars.count }
        }
        self.patterns = patterns
        self.byFirstScalar = byFirst
        self.asciiFirst = (low, high)
    }

    @inline(__always)
    private func mayStart(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 64 { return asciiFirst.0 & (1 << UInt64(v)) != 0 }
        if v < 128 { return asciiFirst.1 & (1 << UInt64(v - 64)) != 0 }
        return byFirstScalar[v] != nil
    }

    /// The longest pattern matching at `text[i...]` (within `end`), if any.
    @inline(__always)
    private func match(in text: [Unicode.Scalar], at i: Int, end: Int) -> Int? {
        guard let candidates = byFirstScalar[text[i].value] else { return nil }
        for index in candidates {
            let scalars = patterns[index].scalars
            if scalars.count <= end - i, text[i..<(i + scalars.count)].elementsEqual(scalars) { return index }
        }
        return nil
    }

    /// Appends the segments of `text[range]` to `segments`: text pieces (never empty) and tokens.
    func split(_ text: [Unicode.Scalar], range: Range<Int>, into segments: inout [TextSegment]) {
        if patterns.isEmpty {
            if !range.isEmpty { segments.append(.text(range)) }
            return
        }
        var pieceStart = range.lowerBound  // end of the previous match
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            guard mayStart(text[i]), let index = match(in: text, at: i, end: end) else {
                i += 1
                continue
            }
            let token = patterns[index].token
            var start = i
            var stop = i + patterns[index].scalars.count
            if token.singleWord {
                let wordBefore = start > range.lowerBound && UnicodeClasses.isWordCharacter(text[start - 1])
                let wordAfter = stop < end && UnicodeClasses.isWordCharacter(text[stop])
                if wordBefore || wordAfter {
                    i = stop
                    continue
                }
            }
            if token.lstrip {
                while start > pieceStart && UnicodeClasses.isWhitespace(text[start - 1]) { start -= 1 }
            }
            if token.rstrip {
                while stop < end && UnicodeClasses.isWhitespace(text[stop]) { stop += 1 }
            }
            if pieceStart < start { segments.append(.text(pieceStart..<start)) }
            segments.append(.token(token.id))
            pieceStart = stop
            i = stop
        }
        if pieceStart < end { segments.append(.text(pieceStart..<end)) }
    }
}
