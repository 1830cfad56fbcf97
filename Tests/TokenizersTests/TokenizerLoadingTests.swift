import XCTest
@testable import Tokenizers

/// Loading from the different file layouts, the special tokens, and the loader's choices.
final class TokenizerLoadingTests: XCTestCase {
    private let prompts = [
        "Today, I finally discovered the relation between café and coffee : café is the <mask> of coffee",
        "I wasn’t aware of this relationship, but I just read in the encyclopedia that x-ray is the <mask> of radiation",
        "  spaces   and\ttabs <mask>   end ",
        "<s>nested</s> <pad> <unk> New York's 12,345",
    ]

    func testBPEFromPlainFilesAndFromTokenizerJSONAgree() throws {
        let plain = try makeTemporaryDirectory(self)
        try copyFiles(["vocab.json", "merges.txt", "tokenizer_config.json"], from: Fixtures.tinyRoberta, to: plain)
        let jsonOnly = try makeTemporaryDirectory(self)
        try copyFiles(["tokenizer.json"], from: Fixtures.tinyRoberta, to: jsonOnly)

        let fromPlain = try ByteLevelBPETokenizer(directory: plain)
        let fromJSON = try ByteLevelBPETokenizer(directory: jsonOnly)
        let fromBoth = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        XCTAssertEqual(fromPlain.vocabularySize, 431)
        XCTAssertEqual(fromJSON.vocabularySize, 431)
        for prompt in prompts {
            let expected = fromBoth.encode(prompt)
            XCTAssertEqual(fromPlain.encode(prompt), expected, prompt)
            XCTAssertEqual(fromJSON.encode(prompt), expected, prompt)
        }
        // Without tokenizer.json, `<mask>` must still strip the space on its left (RoBERTa's default).
        XCTAssertEqual(fromPlain.encode("the <mask> of").tokens, ["<s>", "the", "<mask>", "Ġof", "</s>"])
    }

    func testMergesAsArraysInTokenizerJSON() throws {
        let directory = try makeTemporaryDirectory(self)
        let source = Fixtures.tinyRoberta.appendingPathComponent("tokenizer.json")
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        let merges = try XCTUnwrap(model["merges"] as? [Any])
        // Rewrite every merge as the "a b" string form.
        model["merges"] = try merges.map { entry -> String in
            let pair = try XCTUnwrap(entry as? [String])
            return pair.joined(separator: " ")
        }
        root["model"] = model
        try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("tokenizer.json"))
        let strings = try ByteLevelBPETokenizer(directory: directory)
        let arrays = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        for prompt in prompts {
            XCTAssertEqual(strings.encode(prompt), arrays.encode(prompt), prompt)
        }
    }

    func testWordPieceFromVocabTxtAndFromTokenizerJSONAgree() throws {
        let model = try Fixtures.requireMiniLM()
        let plain = try makeTemporaryDirectory(self)
        try copyFiles(["vocab.txt"], from: model, to: plain)
        let jsonOnly = try makeTemporaryDirectory(self)
        try copyFiles(["tokenizer.json"], from: model, to: jsonOnly)
        let fromPlain = try WordPieceTokenizer(directory: plain)
        let fromJSON = try WordPieceTokenizer(directory: jsonOnly)
        let full = try WordPieceTokenizer(directory: model)
        XCTAssertEqual(fromPlain.vocabularySize, 30522)
        XCTAssertEqual(fromJSON.vocabularySize, 30522)
        for prompt in prompts.map({ $0.replacingOccurrences(of: "<mask>", with: "[MASK]") }) {
            let expected = full.encode(prompt)
            XCTAssertEqual(fromPlain.encode(prompt), expected, prompt)
            XCTAssertEqual(fromJSON.encode(prompt), expected, prompt)
        }
    }

    func testSpecialTokenProperties() throws {
        let bert = try WordPieceTokenizer(directory: Fixtures.requireMiniLM())
        XCTAssertEqual(bert.vocabularySize, 30522)
        XCTAssertEqual(bert.maskToken, "[MASK]")
        XCTAssertEqual(bert.maskTokenID, 103)
        XCTAssertEqual(bert.padTokenID, 0)
        XCTAssertEqual(bert.startTokenID, 101)
        XCTAssertEqual(bert.endTokenID, 102)
        XCTAssertEqual(bert.specialTokenIDs, [0, 100, 101, 102, 103])

        let roberta = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        XCTAssertEqual(roberta.vocabularySize, 431)
        XCTAssertEqual(roberta.maskToken, "<mask>")
        XCTAssertEqual(roberta.maskTokenID, 4)
        XCTAssertEqual(roberta.padTokenID, 1)
        XCTAssertEqual(roberta.startTokenID, 0)
        XCTAssertEqual(roberta.endTokenID, 2)
        XCTAssertEqual(roberta.specialTokenIDs, [0, 1, 2, 3, 4])
    }

    func testSpecialTokensInTextAreSplitOutBeforeNormalization() throws {
        let bert = try WordPieceTokenizer(directory: Fixtures.requireMiniLM())
        // `[MASK]` is matched in the raw text; the lowercase `[mask]` is ordinary text.
        XCTAssertEqual(
            bert.encode("the [MASK] of [mask]").tokens,
            ["[CLS]", "the", "[MASK]", "of", "[", "mask", "]", "[SEP]"])
        XCTAssertEqual(bert.encode("x[MASK]y").ids, [101, 1060, 103, 1061, 102])

        let roberta = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        // lstrip: the whitespace before `<mask>` belongs to it, so `of` keeps its own `Ġ`.
        XCTAssertEqual(roberta.encode("the   <mask> of").tokens, ["<s>", "the", "<mask>", "Ġof", "</s>"])
        XCTAssertEqual(roberta.encode("the<mask>of").tokens, ["<s>", "the", "<mask>", "o", "f", "</s>"])
    }

    func testInMemoryWordPieceVocabulary() {
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "cafe", "café", ",", "!"]
        let lowercased = WordPieceTokenizer(vocabulary: vocabulary, lowercase: true, stripAccents: nil, tokenizeChineseChars: true)
        XCTAssertEqual(lowercased.encode("UNaffable, Café!").tokens, ["[CLS]", "un", "##aff", "##able", ",", "cafe", "!", "[SEP]"])
        XCTAssertEqual(lowercased.encode("unknown [MASK]").ids, [2, 1, 4, 3])
        XCTAssertEqual(lowercased.vocabularySize, 12)

        let cased = WordPieceTokenizer(vocabulary: vocabulary, lowercase: false, stripAccents: nil, tokenizeChineseChars: true)
        XCTAssertEqual(cased.encode("café Café").tokens, ["[CLS]", "café", "[UNK]", "[SEP]"])

        // Special tokens missing from the vocabulary get ids after it.
        let bare = WordPieceTokenizer(vocabulary: ["a", "b"], lowercase: true, stripAccents: nil, tokenizeChineseChars: true)
        XCTAssertEqual(bare.vocabularySize, 7)
        XCTAssertEqual(bare.encode("a [MASK] c").ids, [bare.startTokenID, 0, bare.maskTokenID, 3, bare.endTokenID])
        XCTAssertEqual(Set([bare.padTokenID, bare.startTokenID, bare.endTokenID, bare.maskTokenID]).count, 4)
        XCTAssertTrue(bare.specialTokenIDs.isSuperset(of: [2, 3, 4, 5, 6]))
    }

    func testLoaderUsesModelTypeAndFiles() throws {
        let plainBPE = try makeTemporaryDirectory(self)
        try copyFiles(["vocab.json", "merges.txt"], from: Fixtures.tinyRoberta, to: plainBPE)
        XCTAssertTrue(try TokenizerLoader.load(directory: plainBPE, modelType: "roberta") is ByteLevelBPETokenizer)
        XCTAssertTrue(try TokenizerLoader.load(directory: plainBPE, modelType: nil) is ByteLevelBPETokenizer)

        let plainWordPiece = try makeTemporaryDirectory(self)
        try copyFiles(["vocab.txt"], from: Fixtures.requireMiniLM(), to: plainWordPiece)
        XCTAssertTrue(try TokenizerLoader.load(directory: plainWordPiece, modelType: "bert") is WordPieceTokenizer)
        XCTAssertTrue(try TokenizerLoader.load(directory: plainWordPiece, modelType: "something-else") is WordPieceTokenizer)

        // tokenizer.json's model type wins over a contradicting model type.
        XCTAssertTrue(try TokenizerLoader.load(directory: Fixtures.tinyRoberta, modelType: "bert") is ByteLevelBPETokenizer)
    }
}
