import RelBERT
import XCTest

final class ContrastiveSamplerTests: XCTestCase {
    func testDeterministicForASeed() throws {
        let relations = try SemEvalTestData.load().training
        let a = ContrastiveSampler(relations: relations, seed: 7)
        let b = ContrastiveSampler(relations: relations, seed: 7)
        let c = ContrastiveSampler(relations: relations, seed: 8)
        XCTAssertEqual(a.stepsPerEpoch, 79)
        XCTAssertEqual(a.epoch(2), b.epoch(2))
        XCTAssertNotEqual(a.epoch(2), c.epoch(2))
    }

    func testStepEqualsEpochElement() throws {
        let sampler = ContrastiveSampler(relations: try SemEvalTestData.load().training, seed: 11)
        for epoch in [0, 3] {
            let steps = sampler.epoch(epoch)
            XCTAssertEqual(steps.count, sampler.stepsPerEpoch)
            for index in [0, 1, 40, 78] {
                XCTAssertEqual(sampler.step(epoch: epoch, index: index), steps[index], "epoch \(epoch) step \(index)")
            }
        }
    }

    func testEachEpochVisitsEveryRelationOnceInANewOrder() throws {
        let relations = try SemEvalTestData.load().training
        let sampler = ContrastiveSampler(relations: relations, seed: 0)
        let orders = (0 ..< 4).map { sampler.epoch($0).map(\.relation) }
        for order in orders {
            XCTAssertEqual(order.sorted(), relations.map(\.id).sorted())
        }
        XCTAssertEqual(Set(orders).count, 4, "four epochs should give four different orders")
        XCTAssertNotEqual(orders[0], relations.map(\.id), "the order is shuffled")
    }

    func testNegativesAreOwnNegativesThenOtherRelationsPositives() throws {
        let relations = try SemEvalTestData.load().training
        let byID = Dictionary(uniqueKeysWithValues: relations.map { ($0.id, $0) })
        let sampler = ContrastiveSampler(relations: relations, negatives: 64, seed: 3)
        for step in sampler.epoch(0) {
            let relation = try XCTUnwrap(byID[step.relation])
            XCTAssertEqual(step.positives, relation.positives)
            XCTAssertEqual(step.positives.count, 8)
            XCTAssertEqual(step.negatives.count, 64, step.relation)
            XCTAssertEqual(Set(step.negatives).count, 64, "negatives of \(step.relation) must be distinct")
            XCTAssertTrue(Set(step.negatives).isDisjoint(with: step.positives), step.relation)
            XCTAssertEqual(Array(step.negatives.prefix(8)), relation.negatives, "own negatives come first")
            for pair in step.negatives.dropFirst(8) {
                XCTAssertTrue(relations.contains { $0.id != step.relation && $0.positives.contains(pair) },
                              "\(pair) should be another relation's positive")
            }
        }
    }

    func testSampledNegativesChangeBetweenEpochs() throws {
        let sampler = ContrastiveSampler(relations: try SemEvalTestData.load().training, seed: 3)
        let first = Dictionary(uniqueKeysWithValues: sampler.epoch(0).map { ($0.relation, $0.negatives) })
        let second = Dictionary(uniqueKeysWithValues: sampler.epoch(1).map { ($0.relation, $0.negatives) })
        XCTAssertNotEqual(first["1a"], second["1a"])
        XCTAssertEqual(first["1a"].map { Array($0.prefix(8)) }, second["1a"].map { Array($0.prefix(8)) })
    }

    func testSmallBudgetsAndSmallPools() {
        let relations = [
            RelationExamples(id: "1a", parent: "1", positives: [WordPair("a", "1"), WordPair("a", "2")],
                             negatives: [WordPair("x", "1"), WordPair("x", "2"), WordPair("a", "1"), WordPair("x", "1")]),
            RelationExamples(id: "1b", parent: "1", positives: [WordPair("b", "1"), WordPair("a", "2"), WordPair("x", "2")],
                             negatives: []),
            RelationExamples(id: "2a", parent: "2", positives: [], negatives: [WordPair("y", "1")]),
        ]
        let tight = ContrastiveSampler(relations: relations, negatives: 1, seed: 0)
        XCTAssertEqual(tight.stepsPerEpoch, 2, "a relation without positives gives no step")
        let tightStep = (0 ..< 2).map { tight.step(epoch: 0, index: $0) }.first { $0.relation == "1a" }
        XCTAssertEqual(tightStep?.negatives, [WordPair("x", "1")])

        // 1a: own negatives without its positive (a,1) and without the repeat; pool = 1b's positives minus
        // (a,2) (a positive of 1a) and (x,2) (already an own negative) = [(b,1)].
        let roomy = ContrastiveSampler(relations: relations, negatives: 10, seed: 0)
        let steps = Dictionary(uniqueKeysWithValues: roomy.epoch(0).map { ($0.relation, $0) })
        XCTAssertEqual(steps["1a"]?.negatives, [WordPair("x", "1"), WordPair("x", "2"), WordPair("b", "1")])
        XCTAssertEqual(steps["1b"]?.negatives, [WordPair("a", "1")])
    }
}
