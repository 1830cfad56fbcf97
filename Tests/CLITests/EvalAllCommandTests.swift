import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `relbert eval all` end to end on a model trained for a few steps from the tiny RoBERTa fixture
/// (its figures mean nothing; seconds to run): the files it writes, and that its figures are the ones
/// the individual `eval` commands print for the same model.
final class EvalAllCommandTests: XCTestCase {
    let tiny = CLIRunner.root.appendingPathComponent("Tests/Fixtures/tiny-roberta").path

    func json(_ line: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func testReportAgreesWithTheIndividualCommands() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("eval-all-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        // A real (tiny) training run, so the report has a training log to plot.
        let run = work.appendingPathComponent("run")
        // average pooling: the tiny model's 431-token vocabulary makes long prompts that lose the mask token at 64 tokens.
        let train = try CLIRunner.run(["train", "--model", tiny, "--output", run.path, "--epochs", "1", "--threads", "2", "--pooling", "average",
                                       "--lr", "1e-3", "--no-eval"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let model = run.appendingPathComponent("model").path
        let cache = work.appendingPathComponent("cache").path
        let report = work.appendingPathComponent("report")
        let all = try CLIRunner.run(["eval", "all", "--model", model, "--output", report.path, "--cache-dir", cache,
                                     "--classify-dataset", "EVALution", "--max-epochs", "3", "--threads", "2"])
        XCTAssertEqual(all.status, 0, all.stderr)
        for file in ["results.json", "report.md", "analogy.svg", "classification.svg", "training.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: report.appendingPathComponent(file).path), file)
        }
        let results = try json(String(decoding: try Data(contentsOf: report.appendingPathComponent("results.json")), as: UTF8.self))
        let analogy = try XCTUnwrap(results["analogy"] as? [[String: Any]])
        // 4 analogy sets + 2 relational similarity sets, 2 splits each, 3 directions.
        XCTAssertEqual(analogy.count, 36)
        func accuracy(_ dataset: String, _ split: String, _ direction: String) -> Double? {
            analogy.first { $0["dataset"] as? String == dataset && $0["split"] as? String == split && $0["direction"] as? String == direction }?["accuracy"] as? Double
        }

        // Analogy: the command, through the same cache, on a test and a validation split, both ways.
        for direction in ["forward", "bidirection"] {
            let single = try CLIRunner.run(["eval", "analogy", "--model", model, "--cache-dir", cache, "--json", "--direction", direction,
                                            "--dataset", "data/analogy_questions/u4/test.jsonl",
                                            "--dataset", "data/analogy_questions/google/valid.jsonl"])
            XCTAssertEqual(single.status, 0, single.stderr)
            XCTAssertEqual(try json(single.lines[0])["accuracy"] as? Double, accuracy("u4", "test", direction))
            XCTAssertEqual(try json(single.lines[1])["accuracy"] as? Double, accuracy("google", "valid", direction))
            XCTAssertTrue(single.stderr.isEmpty || !single.stderr.contains("error"), single.stderr)
        }

        // Classification: same grid, same seed, same cached features → the same scores.
        let classify = try CLIRunner.run(["eval", "classify", "--model", model, "--cache-dir", cache, "--json",
                                          "--dataset", "EVALution", "--max-epochs", "3", "--threads", "2"])
        XCTAssertEqual(classify.status, 0, classify.stderr)
        XCTAssertTrue(classify.stderr.contains(": 0 embedded now"), "eval all filled the cache: \(classify.stderr)")
        let single = try json(classify.lines[0])
        let recorded = try XCTUnwrap((results["classification"] as? [[String: Any]])?.first)
        for key in ["macro_f1", "micro_f1", "validation_macro_f1", "learning_rate"] {
            XCTAssertEqual(single[key] as? Double, recorded[key] as? Double, key)
        }
        XCTAssertEqual(single["hidden"] as? Int, recorded["hidden"] as? Int)
        XCTAssertEqual(single["per_class_f1"] as? [String: Double], recorded["per_class_f1"] as? [String: Double])

        // Mapping.
        let mapping = try CLIRunner.run(["eval", "mapping", "--model", model, "--cache-dir", cache, "--json"])
        XCTAssertEqual(mapping.status, 0, mapping.stderr)
        let mapped = try json(mapping.lines[0])
        let recordedMapping = try XCTUnwrap(results["mapping"] as? [String: Any])
        XCTAssertEqual(mapped["accuracy"] as? Double, recordedMapping["accuracy"] as? Double)
        XCTAssertEqual(mapped["per_problem"] as? [String: Double], recordedMapping["per_problem"] as? [String: Double])

        // The report shows this model's figures beside the paper's, and links plots that are valid SVG.
        let markdown = try String(contentsOf: report.appendingPathComponent("report.md"), encoding: .utf8)
        // eval analogy's own table (one decimal of the unrounded accuracy) shows the same figures.
        let table = try CLIRunner.run(["eval", "analogy", "--model", model, "--cache-dir", cache])
        XCTAssertEqual(table.status, 0, table.stderr)
        let rows = table.lines.filter { $0.hasSuffix("%") && $0.contains("/test") }
        XCTAssertEqual(rows.count, 4, table.stdout)
        for line in rows {
            let printed = try XCTUnwrap(line.split(separator: " ").last).dropLast()
            XCTAssertTrue(markdown.contains("**\(printed)**"), "\(line) not in the report")
        }
        XCTAssertTrue(markdown.contains("| 66.2 |"), "the paper's U2 figure")
        XCTAssertTrue(markdown.contains("| EVALution | **"), markdown)
        XCTAssertTrue(markdown.contains("| 68.4 | 69.6 |"), "the paper's EVALution F1")
        for file in ["analogy.svg", "classification.svg", "training.svg"] {
            XCTAssertTrue(markdown.contains("(\(file))"), file)
            let parser = XMLParser(data: try Data(contentsOf: report.appendingPathComponent(file)))
            XCTAssertTrue(parser.parse(), "\(file): \(String(describing: parser.parserError))")
        }
        // The training plot has one point per logged step.
        let steps = String(decoding: try Data(contentsOf: run.appendingPathComponent("train_log.jsonl")), as: UTF8.self)
            .split(separator: "\n").count
        let training = try String(contentsOf: report.appendingPathComponent("training.svg"), encoding: .utf8)
        let path = try XCTUnwrap(training.components(separatedBy: "<path d=\"").dropFirst().first)
        XCTAssertEqual(path.prefix { $0 != "\"" }.filter { $0 == "M" || $0 == "L" }.count, steps)
        XCTAssertGreaterThan(steps, 3)

        // eval report renders the same report again from results.json alone.
        let again = work.appendingPathComponent("again")
        let rendered = try CLIRunner.run(["eval", "report", "--results", report.appendingPathComponent("results.json").path,
                                          "--output", again.path])
        XCTAssertEqual(rendered.status, 0, rendered.stderr)
        XCTAssertEqual(try String(contentsOf: again.appendingPathComponent("report.md"), encoding: .utf8), markdown)
        XCTAssertEqual(try Data(contentsOf: again.appendingPathComponent("training.svg")),
                       try Data(contentsOf: report.appendingPathComponent("training.svg")))
    }

    func testBadInputGetsAClearError() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("eval-all-bad-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let unknown = try CLIRunner.run(["eval", "all", "--model", tiny, "--output", work.path, "--classify-dataset", "WordNet"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("unknown classification dataset 'WordNet'"), unknown.stderr)

        let references = work.appendingPathComponent("refs.json")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try Data("{\"analogy\": 3}".utf8).write(to: references)
        let bad = try CLIRunner.run(["eval", "all", "--model", tiny, "--output", work.appendingPathComponent("out").path,
                                     "--references", references.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("refs.json") && bad.stderr.contains("reference figures"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("out").path), "nothing written on error")

        let log = try CLIRunner.run(["eval", "all", "--model", tiny, "--output", work.appendingPathComponent("out").path,
                                     "--training-log", work.appendingPathComponent("missing.jsonl").path])
        XCTAssertNotEqual(log.status, 0)
        XCTAssertTrue(log.stderr.contains("missing.jsonl"), log.stderr)
    }
}
