import XCTest
@testable import Tokenizers

final class TruncationTests: XCTestCase {
    private let longText = "Today, I finally discovered the relation between unbelievably and antidisestablishmentarianism : unbelievably is the [MASK] of antidisestablishmentarianism"

    /// Expected ids from Hugging Face `tokenizers` with `enable_truncation(max_length: n)`.
    func testWordPieceTruncationKeepsEndToken() throws {
        let tokenizer = try WordPieceTokenizer(directory: Fixtures.requireMiniLM())
        XCTAssertEqual(tokenizer.encode(longText, maxLength: 10).ids, [101, 2651, 1010, 1045, 2633, 3603, 1996, 7189, 2090, 102])
        XCTAssertEqual(tokenizer.encode(longText, maxLength: 5).ids, [101, 2651, 1010, 1045, 102])
        XCTAssertEqual(tokenizer.encode(longText, maxLength: 3).ids, [101, 2651, 102])
        XCTAssertEqual(tokenizer.encode(longText, maxLength: 2).ids, [101, 102])
        // Below two tokens the start and end tokens are still both there.
        XCTAssertEqual(tokenizer.encode(longText, maxLength: 0).ids, [101, 102])

        let full = tokenizer.encode(longText, maxLength: 512)
        XCTAssertEqual(full.ids.count, 42)
        for maxLength in [4, 17, 41, 42, 43, 64] {
            let cut = tokenizer.encode(longText, maxLength: maxLength)
            XCTAssertEqual(cut.ids.count, min(maxLength, full.ids.count))
            XCTAssertEqual(cut.ids.last, tokenizer.endTokenID)
            XCTAssertEqual(cut.tokens.last, "[SEP]")
            XCTAssertEqual(Array(cut.ids.dropLast()), Array(full.ids.prefix(cut.ids.count - 1)))
        }
    }

    func testByteLevelBPETruncationKeepsEndToken() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        let text = longText.replacingOccurrences(of: "[MASK]", with: "<mask>")
        XCTAssertEqual(tokenizer.encode(text, maxLength: 10).ids, [0, 334, 16, 279, 339, 341, 265, 282, 338, 2])
        XCTAssertEqual(tokenizer.encode(text, maxLength: 5).ids, [0, 334, 16, 279, 2])
        XCTAssertEqual(tokenizer.encode(text, maxLength: 3).ids, [0, 334, 2])
        XCTAssertEqual(tokenizer.encode(text, maxLength: 2).ids, [0, 2])

        let full = tokenizer.encode(text, maxLength: 1000)
        XCTAssertGreaterThan(full.ids.count, 64)
        let cut = tokenizer.encode(text)
        XCTAssertEqual(cut.ids.count, 64)
        XCTAssertEqual(cut.tokens.last, "</s>")
        XCTAssertEqual(Array(cut.ids.dropLast()), Array(full.ids.prefix(63)))
    }
}
