import Foundation
import XCTest

final class EmbedCommandTests: XCTestCase {
    func testJSONLinesInInputOrder() throws {
        let input = Data("kitten\tcat\nparis\tfrance\n\nNew York\tUSA\n".utf8)
        let result = try CLIRunner.run(["embed", "--threads", "2", "--batch-size", "2"], stdin: input)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.count, 3)
        let objects = try result.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects.map { $0["head"] as? String }, ["kitten", "paris", "New York"])
        XCTAssertEqual(objects.map { $0["tail"] as? String }, ["cat", "france", "USA"])
        for object in objects { XCTAssertEqual((object["embedding"] as? [Double])?.count, 384) }

        // The same vectors in TSV, from a file, one thread, another batch size.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pairs-\(UUID()).tsv")
        try input.write(to: file)
        let tsv = try CLIRunner.run(["embed", "--input", file.path, "--format", "tsv", "--threads", "1"])
        XCTAssertEqual(tsv.status, 0, tsv.stderr)
        for (line, object) in zip(tsv.lines, objects) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            XCTAssertEqual(fields.count, 2 + 384)
            let values = fields.dropFirst(2).map { Double($0)! }
            let expected = object["embedding"] as! [Double]
            XCTAssertLessThan(zip(values, expected).map { abs($0 - $1) }.max()!, 1e-6)
        }
    }

    func testBadInputNamesTheLine() throws {
        let noTab = try CLIRunner.run(["embed"], stdin: Data("a\tb\nno tab\n".utf8))
        XCTAssertNotEqual(noTab.status, 0)
        XCTAssertTrue(noTab.stderr.contains("<stdin>:2"), noTab.stderr)
        XCTAssertTrue(noTab.stdout.isEmpty)

        let utf8 = try CLIRunner.run(["embed"], stdin: Data([0x61, 0x09, 0x62, 0x0a, 0x63, 0x09, 0xc3, 0x28, 0x0a]))
        XCTAssertNotEqual(utf8.status, 0)
        XCTAssertTrue(utf8.stderr.contains(":2: invalid UTF-8"), utf8.stderr)

        let empty = try CLIRunner.run(["embed"], stdin: Data("\tb\n".utf8))
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("empty word"), empty.stderr)
    }

    func testBadModelAndTemplateAreClearErrors() throws {
        let missing = try CLIRunner.run(["embed", "--model", "/nonexistent/model"], stdin: Data("a\tb\n".utf8))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/model"), missing.stderr)

        let template = try CLIRunner.run(["embed", "--template", "<subj> is a <mask>"], stdin: Data("a\tb\n".utf8))
        XCTAssertNotEqual(template.status, 0)
        XCTAssertTrue(template.stderr.contains("<obj>"), template.stderr)

        let pooling = try CLIRunner.run(["embed", "--pooling", "max"], stdin: Data("a\tb\n".utf8))
        XCTAssertNotEqual(pooling.status, 0)
        XCTAssertTrue(pooling.stderr.contains("average_no_mask"), pooling.stderr)
    }
}
