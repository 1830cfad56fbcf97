import XCTest
@testable import Tokenizers

final class GPT2PreTokenizerTests: XCTestCase {
    func testContractions() {
        XCTAssertEqual(
            GPT2PreTokenizer.pieces("I'm don't we're they've she'll he'd it's"),
            ["I", "'m", " don", "'t", " we", "'re", " they", "'ve", " she", "'ll", " he", "'d", " it", "'s"])
        // Only lowercase contractions, and only right after the apostrophe.
        XCTAssertEqual(GPT2PreTokenizer.pieces("'S 'Re"), ["'", "S", " '", "Re"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("shouldn't've"), ["shouldn", "'t", "'ve"])
        // Curly apostrophes are ordinary punctuation.
        XCTAssertEqual(GPT2PreTokenizer.pieces("wasn’t"), ["wasn", "’", "t"])
    }

    func testLettersNumbersAndPunctuationRuns() {
        XCTAssertEqual(GPT2PreTokenizer.pieces("abc123 4.5x"), ["abc", "123", " 4", ".", "5", "x"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("hi!!! ??"), ["hi", "!!!", " ??"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("Ⅻ x² ١٢٣"), ["Ⅻ", " x", "²", " ١٢٣"])
        // Marks are neither letters nor numbers.
        XCTAssertEqual(GPT2PreTokenizer.pieces("e\u{301}t"), ["e", "\u{301}", "t"])
    }

    func testWhitespaceRuns() {
        // The last space of a run goes with the next word.
        XCTAssertEqual(GPT2PreTokenizer.pieces("a  b"), ["a", " ", " b"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("a    b"), ["a", "   ", " b"])
        XCTAssertEqual(GPT2PreTokenizer.pieces("x  \n y"), ["x", "  \n", " y"])
        // A tab is not the optional space: it stays alone.
        XCTAssertEqual(GPT2PreTokenizer.pieces("a\t\tb"), ["a", "\t", "\t", "b"])
        // Trailing whitespace is one piece.
        XCTAssertEqual(GPT2PreTokenizer.pieces("end   "), ["end", "   "])
        XCTAssertEqual(GPT2PreTokenizer.pieces(" "), [" "])
        // No-break spaces are whitespace.
        XCTAssertEqual(GPT2PreTokenizer.pieces("a\u{A0}\u{A0}b"), ["a", "\u{A0}", "\u{A0}", "b"])
        XCTAssertEqual(GPT2PreTokenizer.pieces(""), [])
    }

    func testByteLevelAlphabet() {
        XCTAssertEqual(ByteLevel.string(of: Array(" the".utf8)), "Ġthe")
        XCTAssertEqual(ByteLevel.string(of: Array("’".utf8)), "âĢĻ")
        XCTAssertEqual(ByteLevel.string(of: Array("é\n\t".utf8)), "Ã©Ċĉ")
        XCTAssertEqual(Set(ByteLevel.byteToScalar).count, 256)
        for byte in 0...255 {
            XCTAssertEqual(ByteLevel.byte(for: ByteLevel.byteToScalar[byte]), UInt8(byte))
        }
        XCTAssertNil(ByteLevel.byte(for: "€"))
    }

    func testBPEMergesByRankLeftmostFirst() throws {
        var vocabulary: [String: Int32] = [:]
        for (index, scalar) in ByteLevel.byteToScalar.enumerated() { vocabulary[String(scalar)] = Int32(index) }
        vocabulary["aa"] = 256
        vocabulary["ab"] = 257
        vocabulary["aab"] = 258
        let model = try BPEModel(
            vocabulary: vocabulary, merges: [("a", "b"), ("a", "a"), ("aa", "b")], source: "test", mergeLine: { $0 + 1 })
        let a = Int32(UInt8(ascii: "a"))
        // "ab" outranks "aa": a a b -> a (ab).
        XCTAssertEqual(model.merge(Array("aab".utf8)), [a, 257])
        // Equal ranks merge leftmost first: a a a -> (aa) a.
        XCTAssertEqual(model.merge(Array("aaa".utf8)), [256, a])
        XCTAssertEqual(model.merge(Array("aaaa".utf8)), [256, 256])
        // Cached and uncached results agree.
        var ids: [Int32] = []
        model.tokenize(Array("aaa".utf8), into: &ids)
        model.tokenize(Array("aaa".utf8), into: &ids)
        XCTAssertEqual(ids, [256, a, 256, a])
    }
}
