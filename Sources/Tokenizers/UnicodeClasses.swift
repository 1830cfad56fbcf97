/// Character classes the tokenizers need, with the exact definitions Hugging Face `tokenizers`
/// uses (Rust `char` methods, the `unicode_categories` crate, Oniguruma and Rust `regex` classes).
/// ASCII is answered without touching the Unicode property tables.
enum UnicodeClasses {
    /// Unicode `White_Space` (Rust `char::is_whitespace`, `\s` in the GPT-2 pattern).
    @inline(__always)
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        return c.properties.isWhitespace
    }

    /// BERT's "control character": general category Cc, Cf or Co, except tab, newline and carriage
    /// return, which count as whitespace. Unassigned code points (Cn) are not control characters.
    @inline(__always)
    static func isBertControl(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 {
            if v == 0x09 || v == 0x0A || v == 0x0D { return false }
            return v < 0x20 || v == 0x7F
        }
        switch c.properties.generalCategory {
        case .control, .format, .privateUse: return true
        default: return false
        }
    }

    /// BERT punctuation: ASCII 33-47, 58-64, 91-96, 123-126, or any Unicode P* category.
    @inline(__always)
    static func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT surrounds with spaces (same ranges as `tokenizers`' `is_chinese_char`).
    @inline(__always)
    static func isCJKIdeograph(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x3400 { return false }
        return (0x4E00...0x9FFF).contains(v)
            || (0x3400...0x4DBF).contains(v)
            || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v)
            || (0x2B740...0x2B81F).contains(v)
            || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v)
            || (0x2F800...0x2FA1F).contains(v)
    }

    /// General category Mn (what BERT's accent stripping removes after NFD).
    @inline(__always)
    static func isNonspacingMark(_ c: Unicode.Scalar) -> Bool {
        c.value >= 0x300 && c.properties.generalCategory == .nonspacingMark
    }

    /// Rust `regex`'s Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation, Join_Control.
    static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        let p = c.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// The four classes the GPT-2 pre-tokenizer pattern distinguishes.
    enum GPT2Class: UInt8 {
        case whitespace, letter, number, other
    }

    /// `\s`, `\p{L}`, `\p{N}` or anything else.
    @inline(__always)
    static func gpt2Class(_ c: Unicode.Scalar) -> GPT2Class {
        let v = c.value
        if v < 0x80 {
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) { return .letter }
            if v >= 0x30 && v <= 0x39 { return .number }
            if v == 0x20 || (v >= 0x09 && v <= 0x0D) { return .whitespace }
            return .other
        }
        let p = c.properties
        if p.isWhitespace { return .whitespace }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}
