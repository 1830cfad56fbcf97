import Foundation
import XCTest
@testable import Tokenizers

/// Added tokens with the `tokenizer.json` flags `single_word`, `lstrip`, `rstrip` and `normalized`.
/// Expected ids come from Hugging Face `tokenizers` 0.23.3 with the same added tokens.
final class AddedTokenTests: XCTestCase {
    /// Copies `tokenizer.json` from `source` into a temporary folder with `extra` added tokens.
    private func tokenizerJSON(from source: URL, adding extra: [[String: Any]]) throws -> URL {
        let directory = try makeTemporaryDirectory(self)
        let data = try Data(contentsOf: source.appendingPathComponent("tokenizer.json"))
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        root["added_tokens"] = try XCTUnwrap(root["added_tokens"] as? [Any]) + extra
        try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("tokenizer.json"))
        return directory
    }

    private func token(
        _ id: Int, _ content: String, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
        normalized: Bool, special: Bool
    ) -> [String: Any] {
        ["id": id, "content": content, "single_word": singleWord, "lstrip": lstrip, "rstrip": rstrip,
         "normalized": normalized, "special": special]
    }

    func testByteLevelAddedTokenFlags() throws {
        let directory = try tokenizerJSON(from: Fixtures.tinyRoberta, adding: [
            token(431, "hello", singleWord: true, normalized: false, special: false),
            token(432, "<x>", lstrip: true, rstrip: true, normalized: false, special: true),
            token(433, "<xy>", normalized: true, special: false),
        ])
        let tokenizer = try ByteLevelBPETokenizer(directory: directory)
        XCTAssertEqual(tokenizer.vocabularySize, 434)
        let cases: [(String, [Int32])] = [
            ("hello world", [0, 431, 225, 91, 83, 86, 359, 2]),
            // single_word: not inside "sayhello" nor before "_x" (a word character).
            ("sayhello hello!", [0, 87, 298, 76, 344, 80, 83, 225, 431, 5, 2]),
            ("hello_x hello", [0, 76, 344, 80, 83, 67, 92, 225, 431, 2]),
            // lstrip + rstrip absorb the spaces on both sides.
            ("a  <x>  b", [0, 69, 432, 70, 2]),
            // Leftmost-longest: "<xy>" is not cut into "<x" + "y>".
            ("<x><xy><x>", [0, 432, 433, 432, 2]),
            ("a<xy>b <xy>", [0, 69, 433, 70, 225, 433, 2]),
            ("hello<mask> hello", [0, 431, 4, 225, 431, 2]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(tokenizer.encode(text).ids, expected, text)
        }
        XCTAssertTrue(tokenizer.specialTokenIDs.contains(432))
        XCTAssertFalse(tokenizer.specialTokenIDs.contains(431))
    }

    func testWordPieceNormalizedAddedTokenMatchesAfterNormalization() throws {
        let directory = try tokenizerJSON(from: Fixtures.requireMiniLM(), adding: [
            token(30522, "Yesterday", normalized: true, special: false),
            token(30523, "<Ent>", normalized: false, special: true),
        ])
        let tokenizer = try WordPieceTokenizer(directory: directory)
        XCTAssertEqual(tokenizer.vocabularySize, 30524)
        let cases: [(String, [Int32])] = [
            // The token's pattern is normalized too ("yesterday"), and matched in normalized text.
            ("I read a book YESTERDAY", [101, 1045, 3191, 1037, 2338, 30522, 102]),
            // "<Ent>" is matched in the raw text only, so "<ent>" is ordinary text.
            ("yesterday's <Ent> <ent>", [101, 30522, 1005, 1055, 30523, 1026, 4372, 2102, 1028, 102]),
            ("Yesterdays", [101, 30522, 1055, 102]),
            ("YÉSTERDAY", [101, 30522, 102]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(tokenizer.encode(text).ids, expected, text)
        }
    }

    func testCRLFVocabularyLines() throws {
        let directory = try makeTemporaryDirectory(self)
        try "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\r\n##s\r\n".write(
            to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let tokenizer = try WordPieceTokenizer(directory: directory)
        XCTAssertEqual(tokenizer.vocabularySize, 7)
        XCTAssertEqual(tokenizer.encode("Hellos [MASK]").tokens, ["[CLS]", "hello", "##s", "[MASK]", "[SEP]"])
    }

    func testLineSplitting() throws {
        let directory = try makeTemporaryDirectory(self)
        let file = directory.appendingPathComponent("lines.txt")
        let cases: [(String, [String])] = [
            ("a\nb", ["a", "b"]),
            ("a\r\n\r\nb\n", ["a", "", "b"]),
            ("\n", [""]),
            ("", []),
            // A combining mark after the newline stays with its own line.
            ("x\n\u{301}y\r\n", ["x", "\u{301}y"]),
        ]
        for (text, expected) in cases {
            try Data(text.utf8).write(to: file)
            XCTAssertEqual(try TokenizerFiles.lines(file).map { $0.unicodeScalars.map(\.value) },
                           expected.map { $0.unicodeScalars.map(\.value) }, text.debugDescription)
        }
    }
}
