import XCTest
@testable import Tokenizers

final class BertNormalizerTests: XCTestCase {
    private let uncased = BertNormalizer(stripAccents: nil, lowercase: true)

    /// Compares scalar by scalar: `String` equality would accept any canonically equivalent form.
    private func assertNormalizes(
        _ normalizer: BertNormalizer, _ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(
            normalizer.normalize(input).unicodeScalars.map(\.value), expected.unicodeScalars.map(\.value),
            "\(input.debugDescription) -> \(normalizer.normalize(input).debugDescription)", file: file, line: line)
    }

    func testStripsAccentsAndLowercases() {
        assertNormalizes(uncased, "café", "cafe")
        assertNormalizes(uncased, "Café", "cafe")
        // Decomposed input gives the same result.
        assertNormalizes(uncased, "cafe\u{301}", "cafe")
        assertNormalizes(uncased, "NAÏVE Ångström", "naive angstrom")
        // Accents are stripped before lowercasing: İ -> I -> i.
        assertNormalizes(uncased, "İstanbul", "istanbul")
        // Per-character lowercasing: no final-sigma rule.
        assertNormalizes(uncased, "ΣΑΣ", "σασ")
    }

    func testStripAccentsFollowsLowercaseUnlessSet() {
        let cased = BertNormalizer(stripAccents: nil, lowercase: false)
        assertNormalizes(cased, "Café", "Café")
        let casedStripped = BertNormalizer(stripAccents: true, lowercase: false)
        assertNormalizes(casedStripped, "Café", "Cafe")
        let lowerKeepAccents = BertNormalizer(stripAccents: false, lowercase: true)
        assertNormalizes(lowerKeepAccents, "CAFÉ", "café")
    }

    func testDropsControlCharactersAndMapsWhitespace() {
        assertNormalizes(uncased, "a\u{0}b\u{FFFD}c\u{7}d\u{200B}e\u{E000}f", "abcdef")
        assertNormalizes(uncased, "a\tb\nc\r\nd\u{A0}e\u{3000}f", "a b c  d e f")
        // U+0085 is a control character before it is whitespace: dropped, not mapped.
        assertNormalizes(uncased, "a\u{85}b", "ab")
        // Unassigned code points are not control characters.
        assertNormalizes(uncased, "a\u{378}b", "a\u{378}b")
    }

    func testSurroundsCJKIdeographsWithSpaces() {
        assertNormalizes(uncased, "中文ab", " 中  文 ab")
        // Hiragana and Hangul are not in the CJK ideograph blocks (but NFD still decomposes them,
        // and the dakuten of が is a nonspacing mark that accent stripping removes).
        assertNormalizes(uncased, "ひらがな한국", "ひらかな\u{1112}\u{1161}\u{11AB}\u{1100}\u{116E}\u{11A8}")
        let cased = BertNormalizer(stripAccents: nil, lowercase: false)
        assertNormalizes(cased, "ひらがな한국", "ひらがな한국")
        let noChinese = BertNormalizer(handleChineseChars: false, stripAccents: nil, lowercase: true)
        assertNormalizes(noChinese, "中文", "中文")
    }

    func testPreTokenizerSplitsPunctuation() {
        // U+2019 is punctuation (Pf), so "wasn’t" is three words.
        XCTAssertEqual(BertPreTokenizer.words("i wasn’t here"), ["i", "wasn", "’", "t", "here"])
        XCTAssertEqual(BertPreTokenizer.words("x-ray, $5...ok"), ["x", "-", "ray", ",", "$", "5", ".", ".", ".", "ok"])
        // ASCII symbols such as ^ ` | ~ count as punctuation though Unicode calls them symbols.
        XCTAssertEqual(BertPreTokenizer.words("a^b`c|d~e"), ["a", "^", "b", "`", "c", "|", "d", "~", "e"])
        // Non-ASCII symbols (So, Sm) are not punctuation.
        XCTAssertEqual(BertPreTokenizer.words("a©b ±1"), ["a©b", "±1"])
        XCTAssertEqual(BertPreTokenizer.words("  \t "), [])
    }

    func testWordPieceGreedyLongestMatch() {
        let vocabulary = ["[UNK]", "un", "una", "##aff", "##able", "##a", "##ffable"]
        let model = WordPiece(tokens: vocabulary.enumerated().map { ($0.element, Int32($0.offset)) }, unknownID: 0)
        func pieces(_ word: String) -> [Int32] {
            var ids: [Int32] = []
            let scalars = Array(word.unicodeScalars)
            model.tokenize(scalars, word: scalars.indices, into: &ids)
            return ids
        }
        // "una" + "##ffable" is longest-first, even though "un" + "##aff" + "##able" also covers it.
        XCTAssertEqual(pieces("unaffable"), [2, 6])
        // A word that cannot be covered is one unknown token, not a partial match.
        XCTAssertEqual(pieces("unx"), [0])
        let long = WordPiece(tokens: [("[UNK]", 0), ("a", 1), ("##a", 2)], unknownID: 0, maxInputCharsPerWord: 3)
        var ids: [Int32] = []
        let word = Array("aaaa".unicodeScalars)
        long.tokenize(word, word: word.indices, into: &ids)
        XCTAssertEqual(ids, [0])
    }
}
