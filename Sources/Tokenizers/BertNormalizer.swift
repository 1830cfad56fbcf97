/// BERT's normalizer, in `tokenizers`' order: clean the text, space out CJK ideographs,
/// strip accents, lowercase.
struct BertNormalizer: Sendable {
    /// Drop U+0000, U+FFFD and control characters; map every whitespace character to a space.
    var cleanText: Bool = true
    /// Surround each CJK ideograph with spaces so it becomes a word of its own.
    var handleChineseChars: Bool = true
    /// NFD, then drop nonspacing marks (Mn).
    var stripAccents: Bool = true
    /// Per-character full lowercase mapping (no context-dependent rules such as final sigma).
    var lowercase: Bool = true
    /// Shared NFD memo (a reference: copies of the normalizer share it).
    private let decomposer = CanonicalDecomposer()

    /// `strip_accents: null` follows `lowercase`, as in `tokenizers`.
    init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool?, lowercase: Bool) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents ?? lowercase
        self.lowercase = lowercase
    }

    func normalize(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: normalize(Array(text.unicodeScalars)[...]))
        return String(view)
    }

    func normalize(_ input: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(input.count + 8)
        var allASCII = true
        for c in input {
            var c = c
            if cleanText {
                if c.value == 0 || c.value == 0xFFFD || UnicodeClasses.isBertControl(c) { continue }
                if UnicodeClasses.isWhitespace(c) { c = " " }
            }
            if c.value >= 0x80 {
                allASCII = false
                if handleChineseChars && UnicodeClasses.isCJKIdeograph(c) {
                    out.append(" ")
                    out.append(c)
                    out.append(" ")
                    continue
                }
            }
            out.append(c)
        }
        if allASCII {
            // ASCII is its own NFD and has no marks; only the lowercase step can change it.
            if lowercase {
                for i in out.indices where out[i].value >= 0x41 && out[i].value <= 0x5A {
                    out[i] = Unicode.Scalar(UInt8(out[i].value + 0x20))
                }
            }
            return out
        }
        if stripAccents {
            out = stripAccents(out)
        }
        if lowercase {
            out = Self.lowercase(out)
        }
        return out
    }

    /// NFD of the whole sequence, then every Mn scalar removed.
    func stripAccents(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = decomposer.nfd(scalars)
        out.removeAll(where: UnicodeClasses.isNonspacingMark)
        return out
    }

    /// Rust `char::to_lowercase` applied scalar by scalar (one scalar may become several).
    static func lowercase(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for c in scalars {
            let v = c.value
            if v < 0x80 {
                out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(UInt8(v + 0x20)) : c)
            } else if c.properties.changesWhenLowercased {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(c)
            }
        }
        return out
    }
}
