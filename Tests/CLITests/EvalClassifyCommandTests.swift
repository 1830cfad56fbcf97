import Foundation
import XCTest

/// `relbert eval classify` end to end on the tiny RoBERTa fixture (fast; its figures mean nothing):
/// the JSON report, the exported features, and the embedding cache.
final class EvalClassifyCommandTests: XCTestCase {
    func testClassifyReportsAndCachesEmbeddings() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("classify-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let tiny = CLIRunner.root.appendingPathComponent("Tests/Fixtures/tiny-roberta").path
        let arguments = ["eval", "classify", "--model", tiny, "--dataset", "CogALexV", "--max-epochs", "3",
                         "--cache-dir", work.appendingPathComponent("cache").path, "--json"]
        let first = try CLIRunner.run(arguments + ["--export-features", work.appendingPathComponent("features").path])
        XCTAssertEqual(first.status, 0, first.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(first.lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(report["dataset"] as? String, "CogALexV")
        XCTAssertEqual(report["hidden"] as? Int, 100)            // no validation split: the paper's fixed choice
        XCTAssertEqual(report["learning_rate"] as? Double, 0.001)
        let macro = try XCTUnwrap(report["macro_f1"] as? Double)
        XCTAssertTrue((0 ... 1).contains(macro))
        XCTAssertEqual((report["per_class_f1"] as? [String: Double])?.count, 5)
        XCTAssertEqual(report["test"] as? Int, 4260)
        XCTAssertTrue(first.stderr.contains("embedded now"), first.stderr)
        XCTAssertFalse(first.stderr.contains(" 0 embedded now"), first.stderr)
        // The features: [3054, 2H] floats in numpy's format, labels beside them.
        let x = try Data(contentsOf: work.appendingPathComponent("features/CogALexV.train.x.npy"))
        XCTAssertEqual(Array(x.prefix(6)), [0x93] + Array("NUMPY".utf8))
        XCTAssertEqual(try String(contentsOf: work.appendingPathComponent("features/CogALexV.labels.txt"), encoding: .utf8),
                       "ANT\nHYPER\nPART_OF\nRANDOM\nSYN")
        // The second run takes every embedding from the cache and gives the same figures.
        let second = try CLIRunner.run(arguments)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains(": 0 embedded now"), second.stderr)
        let again = try JSONSerialization.jsonObject(with: Data(second.lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(again["macro_f1"] as? Double, macro)
    }
}
