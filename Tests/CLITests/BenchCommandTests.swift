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

    func testListPairsGivesTheSyntheticSet() throws {
        let result = try CLIRunner.run(["bench", "embed", "--list-pairs"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.count, 64)
        XCTAssertTrue(result.lines.allSatisfy { $0.split(separator: "\t").count == 2 })
    }
}
