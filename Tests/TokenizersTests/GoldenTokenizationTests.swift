import XCTest
@testable import Tokenizers

/// Every prompt of the golden fixtures (made with PyTorch/transformers) must tokenize to exactly the
/// tokens of `golden.json` and the ids of `golden.safetensors`, truncated prompts included.
final class GoldenTokenizationTests: XCTestCase {
    /// Checks all 12 prompts of one template; returns how many were cut at `max_length`.
    @discardableResult
    private func assertMatchesGolden(
        _ tokenizer: any Tokenizer, folder: URL, template: String, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Int {
        let golden = try Golden.load(folder)
        XCTAssertEqual(golden.max_length, 64, file: file, line: line)
        let rows = try SafeTensorsFile(folder.appendingPathComponent("golden.safetensors"))
            .int32Rows("template_\(template).input_ids")
        let sequences = golden.sequences.filter { $0.template == template }
        XCTAssertEqual(sequences.count, 12, file: file, line: line)
        XCTAssertEqual(rows.count, sequences.count, file: file, line: line)
        var truncated = 0
        for sequence in sequences {
            let encoding = tokenizer.encode(sequence.text)
            let context = "template \(template) row \(sequence.row): \(sequence.text)"
            XCTAssertEqual(encoding.tokens, sequence.tokens, context, file: file, line: line)
            let row = try XCTUnwrap(rows.indices.contains(sequence.row) ? rows[sequence.row] : nil, context)
            XCTAssertEqual(encoding.ids, Array(row.prefix(encoding.ids.count)), context, file: file, line: line)
            XCTAssertEqual(
                Array(row.dropFirst(encoding.ids.count)),
                Array(repeating: tokenizer.padTokenID, count: row.count - min(row.count, encoding.ids.count)),
                "only padding may follow the ids: \(context)", file: file, line: line)
            XCTAssertEqual(encoding.ids.first, tokenizer.startTokenID, context, file: file, line: line)
            XCTAssertEqual(encoding.ids.last, tokenizer.endTokenID, context, file: file, line: line)
            XCTAssertEqual(encoding.ids.filter { $0 == tokenizer.maskTokenID }.count, 1, context, file: file, line: line)
            if encoding.ids.count == golden.max_length { truncated += 1 }
        }
        return truncated
    }

    func testMiniLMTemplateA() throws {
        let tokenizer = try WordPieceTokenizer(directory: Fixtures.requireMiniLM())
        try assertMatchesGolden(tokenizer, folder: Fixtures.miniLMGolden, template: "a")
    }

    func testMiniLMTemplateD() throws {
        let tokenizer = try WordPieceTokenizer(directory: Fixtures.requireMiniLM())
        try assertMatchesGolden(tokenizer, folder: Fixtures.miniLMGolden, template: "d")
    }

    func testTinyRobertaTemplateA() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        let truncated = try assertMatchesGolden(tokenizer, folder: Fixtures.tinyRoberta, template: "a")
        XCTAssertGreaterThanOrEqual(truncated, 1, "the fixture has a prompt cut at 64 tokens")
    }

    func testTinyRobertaTemplateD() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta)
        try assertMatchesGolden(tokenizer, folder: Fixtures.tinyRoberta, template: "d")
    }

    /// The loader, given the model type and folder, must produce the same tokenizers.
    func testLoaderPicksTheRightTokenizers() throws {
        let bert = try TokenizerLoader.load(directory: Fixtures.requireMiniLM(), modelType: "bert")
        XCTAssertTrue(bert is WordPieceTokenizer)
        try assertMatchesGolden(bert, folder: Fixtures.miniLMGolden, template: "d")
        let roberta = try TokenizerLoader.load(directory: Fixtures.tinyRoberta, modelType: nil)
        XCTAssertTrue(roberta is ByteLevelBPETokenizer)
        try assertMatchesGolden(roberta, folder: Fixtures.tinyRoberta, template: "a")
    }
}
