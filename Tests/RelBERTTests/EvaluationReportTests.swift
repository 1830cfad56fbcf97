import Foundation
import XCTest
@testable import RelBERT

/// Analogy scoring from given vectors (the three directions), and the report's charts.
final class EvaluationReportTests: XCTestCase {
    /// Vectors chosen so that each direction picks a different candidate:
    /// forward prefers choice 0, reverse prefers choice 1, and their product prefers choice 2.
    func testDirectionsScoreAsDocumented() {
        let stem = WordPair("a", "b")
        let choices = [WordPair("c", "d"), WordPair("e", "f"), WordPair("g", "h")]
        func unit(_ degrees: Double) -> [Float] { [Float(cos(degrees * .pi / 180)), Float(sin(degrees * .pi / 180))] }
        let vectors: [WordPair: [Float]] = [
            stem: unit(0), stem.reversed: unit(0),
            // forward cos, reverse cos: 1.0 × 0.0, 0.0 × 1.0, 0.9 × 0.9
            choices[0]: unit(0), choices[0].reversed: unit(90),
            choices[1]: unit(90), choices[1].reversed: unit(0),
            choices[2]: unit(25.84), choices[2].reversed: unit(25.84),
        ]
        let question = AnalogyQuestion(stem: stem, choices: choices, answer: 2, prefix: nil)
        let dataset = AnalogyDataset(name: "toy", path: "toy.jsonl", questions: [question])
        let answers = AnalogyEvaluator.Direction.allCases.map { direction in
            AnalogyEvaluator.score([dataset], direction: direction) { vectors[$0]![...] }[0].predictions[0]
        }
        XCTAssertEqual(answers, [0, 1, 2])
        XCTAssertEqual(AnalogyEvaluator.pairs(of: [dataset], direction: .forward), [stem] + choices)
        XCTAssertEqual(AnalogyEvaluator.pairs(of: [dataset], direction: .bidirection).count, 8)
        XCTAssertEqual(Set(AnalogyEvaluator.pairs(of: [dataset], direction: .reverse)), Set(([stem] + choices).map(\.reversed)))
    }

    func testBarHeightsAreProportionalToValues() throws {
        let svg = SVGChart.bars(title: "t", categories: ["A", "B"],
                                series: [.init(name: "mine", values: [25, 50], color: "#000"),
                                         .init(name: "theirs <&>", values: [100, nil], color: "#111")],
                                yLabel: "%")
        func height(_ tooltip: String) throws -> Double {
            let rect = try XCTUnwrap(svg.components(separatedBy: "<rect").first { $0.contains("<title>\(tooltip)</title>") })
            let value = try XCTUnwrap(rect.components(separatedBy: "height=\"").dropFirst().first?.prefix { $0 != "\"" })
            return try XCTUnwrap(Double(String(value)))
        }
        let quarter = try height("mine, A: 25.0"), half = try height("mine, B: 50.0")
        let full = try height("theirs &lt;&amp;&gt;, A: 100.0")
        XCTAssertEqual(half / quarter, 2, accuracy: 0.02)
        XCTAssertEqual(full / quarter, 4, accuracy: 0.02)
        XCTAssertFalse(svg.contains("theirs &lt;&amp;&gt;, B"), "a missing value draws no bar")
        XCTAssertEqual(SVGChart.ticks(from: 0, to: 100), [0, 20, 40, 60, 80, 100])
        XCTAssertEqual(SVGChart.niceCeiling(273.3), 300)
    }
}
