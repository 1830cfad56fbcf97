import Foundation
import XCTest

/// The untrained default model reproduces the reference figures (../shared/anchors/README.md,
/// measured with PyTorch): this is the end-to-end check of tokenizer, encoder, pooling and evaluation.
final class EvalCommandTests: XCTestCase {
    func accuracies(_ extra: [String]) throws -> [String: Double] {
        let result = try CLIRunner.run(["eval", "analogy", "--json"] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        var figures: [String: Double] = [:]
        for line in result.lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertEqual(object["dataset"] as? String, "test.jsonl")
            let name = (object["name"] as! String).replacingOccurrences(of: "/test", with: "")
            figures[name] = (object["accuracy"] as! Double) * 100
        }
        return figures
    }

    func testUntrainedTemplateDMatchesAnchors() throws {
        let figures = try accuracies([])
        let anchors = ["u2": 28.1, "u4": 27.5, "google": 25.4, "bats": 29.1]
        for (name, anchor) in anchors {
            XCTAssertEqual(try XCTUnwrap(figures[name]), anchor, accuracy: 0.5, name)
        }
    }

    func testUntrainedTemplateAAverageMatchesAnchors() throws {
        let figures = try accuracies(["--template", "a", "--pooling", "average"])
        let anchors = ["u2": 27.2, "u4": 32.2, "google": 32.8, "bats": 36.4]
        for (name, anchor) in anchors {
            XCTAssertEqual(try XCTUnwrap(figures[name]), anchor, accuracy: 0.5, name)
        }
    }

    func testUserSuppliedFileAndMalformedLines() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eval-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let good = dir.appendingPathComponent("sat.jsonl")
        try Data("""
        {"stem": ["puppy", "dog"], "answer": 1, "choice": [["hot", "cold"], ["kitten", "cat"], ["paris", "france"]], "prefix": "x"}
        {"stem": ["paris", "france"], "answer": 0, "choice": [["tokyo", "japan"], ["puppy", "dog"]], "prefix": "y"}

        """.utf8).write(to: good)
        let result = try CLIRunner.run(["eval", "analogy", "--json", "--dataset", good.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(object["dataset"] as? String, "sat.jsonl")
        XCTAssertEqual(object["questions"] as? Int, 2)

        let bad = dir.appendingPathComponent("bad.jsonl")
        try Data("{\"stem\": [\"a\", \"b\"], \"answer\": 0, \"choice\": [[\"c\", \"d\"]]}\n{\"stem\": [\"a\"], \"answer\": 0, \"choice\": []}\n".utf8).write(to: bad)
        let failure = try CLIRunner.run(["eval", "analogy", "--dataset", bad.path])
        XCTAssertNotEqual(failure.status, 0)
        XCTAssertTrue(failure.stderr.contains("bad.jsonl:2"), failure.stderr)
    }
}
