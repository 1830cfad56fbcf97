import Foundation
import XCTest

/// `relbert train` end to end on the tiny RoBERTa fixture (seconds, not minutes): it writes a model
/// folder that `relbert embed` loads, and a run killed with SIGKILL mid-epoch and resumed ends with
/// exactly the weights of an uninterrupted run.
final class TrainCommandTests: XCTestCase {
    let tiny = CLIRunner.root.appendingPathComponent("Tests/Fixtures/tiny-roberta").path

    func arguments(_ output: URL) -> [String] {
        ["train", "--model", tiny, "--output", output.path, "--epochs", "2", "--threads", "2",
         "--checkpoint-every", "7", "--lr", "1e-3", "--no-eval"]
    }

    func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func testTrainWritesALoadableModel() throws {
        let output = try temporary()
        let result = try CLIRunner.run(arguments(output))
        XCTAssertEqual(result.status, 0, result.stderr)
        let model = output.appendingPathComponent("model")
        for file in ["model.safetensors", "config.json", "finetuning_config.json", "tokenizer.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path), file)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("config.json"))) as! [String: Any]
        let relbert = try XCTUnwrap(config["relbert_config"] as? [String: String])
        XCTAssertEqual(relbert["aggregation_mode"], "mask")   // the training default (docs/training.md)
        XCTAssertTrue(relbert["template"]?.contains("I finally discovered the relation") ?? false)
        let log = try String(contentsOf: output.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 158)   // 79 relations × 2 epochs

        // The trained model embeds, with its own template as the default, and differs from the base.
        let trained = try CLIRunner.run(["embed", "--model", model.path, "--format", "tsv"], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let base = try CLIRunner.run(["embed", "--model", tiny, "--format", "tsv"], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertNotEqual(trained.stdout, base.stdout)

        // Starting afresh over a finished run is refused; so is resuming where there is nothing.
        let again = try CLIRunner.run(arguments(output))
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--resume"), again.stderr)
        let nothing = try CLIRunner.run(arguments(try temporary()) + ["--resume"])
        XCTAssertNotEqual(nothing.status, 0)
        XCTAssertTrue(nothing.stderr.contains("nothing to resume"), nothing.stderr)
    }

    func testResumeAfterSIGKILLGivesTheSameWeights() throws {
        let straight = try temporary()
        XCTAssertEqual(try CLIRunner.run(arguments(straight)).status, 0)
        let expected = try Data(contentsOf: straight.appendingPathComponent("model/model.safetensors"))

        let interrupted = try temporary()
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = arguments(interrupted)
        process.currentDirectoryURL = CLIRunner.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once it is past a checkpoint but well inside the first epoch.
        let log = interrupted.appendingPathComponent("train_log.jsonl")
        let deadline = Date().addingTimeInterval(120)
        var steps = 0
        while Date() < deadline {
            steps = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if steps >= 10 { break }
            usleep(2000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run finished before it could be killed")
        XCTAssertLessThan(steps, 79, "killed inside the first epoch")
        XCTAssertFalse(FileManager.default.fileExists(atPath: interrupted.appendingPathComponent("model").path))

        let resumed = try CLIRunner.run(arguments(interrupted) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at step "), resumed.stdout)
        let actual = try Data(contentsOf: interrupted.appendingPathComponent("model/model.safetensors"))
        XCTAssertEqual(actual, expected, "a resumed run must end with the uninterrupted run's weights")
        let entries = try String(contentsOf: interrupted.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(entries.count, 158, "the log has each step once")
    }
}

extension TrainCommandTests {
    func testResumeRefusesOtherSettings() throws {
        let output = try temporary()
        XCTAssertEqual(try CLIRunner.run(arguments(output) + ["--epochs", "1"]).status, 0)
        // Remove the final model so only the checkpoint remains, then resume with another rate.
        let changed = try CLIRunner.run(arguments(output).map { $0 == "1e-3" ? "5e-4" : $0 } + ["--epochs", "1", "--resume"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.stderr.contains("learningRate"), changed.stderr)
        let threads = try CLIRunner.run(arguments(output).map { $0 == "2" ? "1" : $0 } + ["--epochs", "1", "--resume"])
        XCTAssertNotEqual(threads.status, 0)
        XCTAssertTrue(threads.stderr.contains("--threads 2"), threads.stderr)
    }
}
