import Foundation
import RelBERT
import XCTest

final class RelationMappingTests: XCTestCase {
    /// A planted permutation: only its pairs are similar, so the exhaustive search must find it.
    func testSearchFindsThePlantedPermutation() {
        let planted = [3, 0, 4, 1, 2, 5]
        let mapping = RelationMapping.solve(terms: 6) { i, j, k, l in
            (k == planted[i] && l == planted[j]) ? 1 : 0.1
        }
        XCTAssertEqual(mapping, planted)
    }

    /// Relation vectors that encode the gold structure exactly: every term maps to its gold partner,
    /// whatever order the targets are shown in.
    func testPerfectEmbeddingsSolveEveryBundledProblem() throws {
        let problems = try RelationMappingProblem.load(from: TestPaths.data.appendingPathComponent("relation_mapping/data.jsonl"))
        XCTAssertEqual(problems.count, 20)
        XCTAssertEqual(problems[0].source.first, "solar system")
        // Problems whose two domains share no term (in the others a term such as "attracts" is on both sides).
        let distinct = problems.filter { Set($0.source).isDisjoint(with: $0.target) }
        XCTAssertEqual(distinct.count, 15)
        for problem in distinct {
            let results = RelationMapping.evaluate([problem]) { pair in
                // The same vector for (sᵢ, sⱼ) and (tᵢ, tⱼ): a one-hot of the gold index pair.
                let terms = problem.source.contains(pair.head) ? problem.source : problem.target
                let i = terms.firstIndex(of: pair.head)!, j = terms.firstIndex(of: pair.tail)!
                var v = [Float](repeating: 0, count: 100)
                v[i * 10 + j] = 1
                return v[...]
            }
            XCTAssertEqual(results[0].accuracy, 1, problem.id)
        }
    }
}
