import XCTest
@testable import Tokenizers

final class TokenizerErrorTests: XCTestCase {
    /// Runs `body`, which must throw; returns the error.
    private func error<T>(_ body: () throws(TokenizerError) -> T, file: StaticString = #filePath, line: UInt = #line) -> TokenizerError? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testMissingVocabularyNamesThePath() throws {
        let empty = try makeTemporaryDirectory(self)
        let vocab = empty.appendingPathComponent("vocab.txt").path
        let wordPiece = error { () throws(TokenizerError) in try WordPieceTokenizer(directory: empty) }
        XCTAssertEqual(wordPiece, .missingFile(path: vocab))
        XCTAssertTrue(wordPiece?.description.contains(vocab) == true, wordPiece?.description ?? "")

        let bpe = error { () throws(TokenizerError) in try ByteLevelBPETokenizer(directory: empty) }
        XCTAssertEqual(bpe, .missingFile(path: empty.appendingPathComponent("vocab.json").path))

        // vocab.json without merges.txt names the merges file.
        try copyFiles(["vocab.json"], from: Fixtures.tinyRoberta, to: empty)
        let noMerges = error { () throws(TokenizerError) in try ByteLevelBPETokenizer(directory: empty) }
        XCTAssertEqual(noMerges, .missingFile(path: empty.appendingPathComponent("merges.txt").path))
    }

    func testMalformedMergesLineIsReported() throws {
        let directory = try makeTemporaryDirectory(self)
        try copyFiles(["vocab.json"], from: Fixtures.tinyRoberta, to: directory)
        let merges = directory.appendingPathComponent("merges.txt")
        try "#version: 0.2\nĠ t\nthree parts here\nr e\n".write(to: merges, atomically: true, encoding: .utf8)
        let malformed = error { () throws(TokenizerError) in try ByteLevelBPETokenizer(directory: directory) }
        guard case .malformedMerges(let path, let line, _) = malformed else {
            return XCTFail("expected malformedMerges, got \(String(describing: malformed))")
        }
        XCTAssertEqual(path, merges.path)
        XCTAssertEqual(line, 3)
        XCTAssertTrue(malformed?.description.contains("line 3") == true)

        // A merge whose tokens are not in the vocabulary.
        try "#version: 0.2\nĠ t\nq €\n".write(to: merges, atomically: true, encoding: .utf8)
        let unknown = error { () throws(TokenizerError) in try ByteLevelBPETokenizer(directory: directory) }
        guard case .malformedMerges(_, 3, let reason) = unknown else {
            return XCTFail("expected malformedMerges on line 3, got \(String(describing: unknown))")
        }
        XCTAssertTrue(reason.contains("€"), reason)
    }

    func testMalformedJSONAndVocabulary() throws {
        let directory = try makeTemporaryDirectory(self)
        try copyFiles(["merges.txt"], from: Fixtures.tinyRoberta, to: directory)
        let vocab = directory.appendingPathComponent("vocab.json")
        try "{\"a\": 0,".write(to: vocab, atomically: true, encoding: .utf8)
        let truncated = error { () throws(TokenizerError) in try ByteLevelBPETokenizer(directory: directory) }
        guard case .malformedJSON(let path, _) = truncated else {
            return XCTFail("expected malformedJSON, got \(String(describing: truncated))")
        }
        XCTAssertEqual(path, vocab.path)

        try "{\"a\": \"zero\"}".write(to: vocab, atomically: true, encoding: .utf8)
        let badID = error { () throws(TokenizerError) in try ByteLevelBPETokenizer(directory: directory) }
        guard case .malformedVocabulary(let badPath, _, let reason) = badID else {
            return XCTFail("expected malformedVocabulary, got \(String(describing: badID))")
        }
        XCTAssertEqual(badPath, vocab.path)
        XCTAssertTrue(reason.contains("\"a\""), reason)

        let emptyVocab = try makeTemporaryDirectory(self)
        try "".write(to: emptyVocab.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let empty = error { () throws(TokenizerError) in try WordPieceTokenizer(directory: emptyVocab) }
        guard case .malformedVocabulary = empty else {
            return XCTFail("expected malformedVocabulary, got \(String(describing: empty))")
        }
    }

    func testMissingSpecialToken() throws {
        let directory = try makeTemporaryDirectory(self)
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n".write(
            to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let missing = error { () throws(TokenizerError) in try WordPieceTokenizer(directory: directory) }
        XCTAssertEqual(missing, .missingSpecialToken("[MASK]"))
        XCTAssertEqual(missing?.description.contains("[MASK]"), true)
    }

    func testUnknownTokenizerType() throws {
        let empty = try makeTemporaryDirectory(self)
        let none = error { () throws(TokenizerError) in try TokenizerLoader.load(directory: empty, modelType: "t5") }
        guard case .unknownTokenizerType(let what) = none else {
            return XCTFail("expected unknownTokenizerType, got \(String(describing: none))")
        }
        XCTAssertTrue(what.contains("t5"), what)

        let unigram = try makeTemporaryDirectory(self)
        try #"{"model": {"type": "Unigram", "vocab": []}}"#.write(
            to: unigram.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        let other = error { () throws(TokenizerError) in try TokenizerLoader.load(directory: unigram, modelType: "bert") }
        guard case .unknownTokenizerType(let description) = other else {
            return XCTFail("expected unknownTokenizerType, got \(String(describing: other))")
        }
        XCTAssertTrue(description.contains("Unigram"), description)
    }
}
