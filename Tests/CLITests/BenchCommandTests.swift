import Foundation
import XCTest

final class BenchCommandTests: XCTestCase {
    func testBenchEmbedReportsThroughput() throws {
        let result = try CLIRunner.run(["bench", "embed", "--seconds", "0.5", "--threads", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.lines[0].utf8)) as! [String: Any]
        XCTAssertGreaterThan(object["pairs_per_s"] as? Double ?? 0, 1)
        XCTAssertEqual(object["threads"] as? Int, 1)
        XCTAssertEqual(object["batch_size"] as? Int, 64)
        XCTAssertGreaterThan(object["sgemm_gflops"] as? Double ?? 0, 1)
        XCTAssertEqual(object["pytorch_source"] as? String, "anchor")
    }

    /// `bench cluster` on the tiny model: single-process runs bracket every round of clusters, and
    /// streamed and unstreamed gradients carry the same bytes.
    func testBenchClusterComparesStreamedAndUnstreamedGradients() throws {
        let tiny = CLIRunner.root.appendingPathComponent("Tests/Fixtures/tiny-roberta").path
        let result = try CLIRunner.run(["bench", "cluster", "--model", tiny, "--workers", "1", "--seconds", "0.3",
                                        "--rounds", "2", "--gradient-streaming", "both", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let objects = try result.lines.filter { $0.hasPrefix("{") }.map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(objects.compactMap { $0["mode"] as? String },
                       ["single-process", "single-process", "workers", "workers", "single-process", "workers", "workers", "summary", "summary"])
        let clusters = objects.filter { $0["mode"] as? String == "workers" }
        XCTAssertEqual(clusters.map { $0["gradient_streaming"] as? Bool }, [true, false, true, false])
        for cluster in clusters {
            XCTAssertGreaterThan(cluster["sequences_per_s"] as? Double ?? 0, 1)
            let share = cluster["communication_share"] as? Double ?? -1
            XCTAssertTrue((0 ... 1).contains(share), "\(cluster)")
        }
        XCTAssertEqual(clusters[0]["bytes_received_per_step"] as? Double, clusters[1]["bytes_received_per_step"] as? Double)
        XCTAssertGreaterThan(clusters[0]["bytes_received_per_step"] as? Double ?? 0, 0)
        let summaries = objects.filter { $0["mode"] as? String == "summary" }
        XCTAssertEqual(summaries.compactMap { ($0["ratios"] as? [Double])?.count }, [2, 2])
    }

    func testListPairsGivesTheSyntheticSet() throws {
        let result = try CLIRunner.run(["bench", "embed", "--list-pairs"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.count, 64)
        XCTAssertTrue(result.lines.allSatisfy { $0.split(separator: "\t").count == 2 })
    }
}
