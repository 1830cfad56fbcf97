import RelBERT
import XCTest

final class TripletSamplerTests: XCTestCase {
    func testEpochCoversEveryRelationOnce() throws {
        let relations = try SemEvalTestData.load().training
        let sampler = TripletSampler(relations: relations, relationsPerBatch: 8, tripletsPerRelation: 4, seed: 1)
        XCTAssertEqual(sampler.batchesPerEpoch, 10)  // 79 relations, 8 per batch, the last batch has 7
        var anchors: [String] = []
        for index in 0 ..< sampler.batchesPerEpoch {
            let batch = sampler.batch(epoch: 0, index: index)
            let relationTriplets = zip(batch.relations, batch.kinds).filter { $0.1 == .relation }.map(\.0)
            XCTAssertEqual(relationTriplets.count, (index == 9 ? 7 : 8) * 4)
            XCTAssertEqual(batch.kinds.filter { $0 == .parent }.count, relationTriplets.count)
            anchors += relationTriplets
        }
        let counts = Dictionary(grouping: anchors, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(counts.count, 79)
        XCTAssertTrue(counts.values.allSatisfy { $0 == 4 })
    }

    func testRelationTriplets() throws {
        let relations = try SemEvalTestData.load().training
        let byID = Dictionary(uniqueKeysWithValues: relations.map { ($0.id, $0) })
        let sampler = TripletSampler(relations: relations, relationsPerBatch: 16, tripletsPerRelation: 6, seed: 2)
        var checked = 0
        for index in 0 ..< sampler.batchesPerEpoch {
            let batch = sampler.batch(epoch: 1, index: index)
            for i in batch.triplets.indices where batch.kinds[i] == .relation {
                let triplet = batch.triplets[i]
                let relation = try XCTUnwrap(byID[batch.relations[i]])
                XCTAssertNotEqual(triplet.anchor, triplet.positive)
                XCTAssertTrue(relation.positives.contains(triplet.anchor))
                XCTAssertTrue(relation.positives.contains(triplet.positive))
                XCTAssertTrue(relation.negatives.contains(triplet.negative))
                XCTAssertEqual(batch.positiveRelations[i], relation.id)
                XCTAssertEqual(batch.negativeRelations[i], relation.id)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 79 * 6)
    }

    /// Parent-category triplets as RelBERT builds them: the positive comes from a relation with the anchor's
    /// parent category (sometimes the anchor's own relation, mostly a sibling), the negative from a relation of
    /// another parent category.
    func testParentTriplets() throws {
        let relations = try SemEvalTestData.load().training
        let byID = Dictionary(uniqueKeysWithValues: relations.map { ($0.id, $0) })
        let sampler = TripletSampler(relations: relations, relationsPerBatch: 10, tripletsPerRelation: 5, seed: 4)
        var siblings = 0
        var own = 0
        for batch in (0 ..< sampler.batchesPerEpoch).map({ sampler.batch(epoch: 0, index: $0) }) {
            for i in batch.triplets.indices where batch.kinds[i] == .parent {
                let triplet = batch.triplets[i]
                let anchor = try XCTUnwrap(byID[batch.relations[i]])
                let positiveSource = try XCTUnwrap(byID[batch.positiveRelations[i]])
                let negativeSource = try XCTUnwrap(byID[batch.negativeRelations[i]])
                XCTAssertTrue(anchor.positives.contains(triplet.anchor))
                XCTAssertTrue(positiveSource.positives.contains(triplet.positive))
                XCTAssertEqual(positiveSource.parent, anchor.parent)
                XCTAssertTrue(negativeSource.positives.contains(triplet.negative))
                XCTAssertNotEqual(negativeSource.parent, anchor.parent)
                XCTAssertNotEqual(triplet.anchor, triplet.positive)
                XCTAssertNotEqual(triplet.negative, triplet.anchor)
                XCTAssertNotEqual(triplet.negative, triplet.positive)
                if positiveSource.id == anchor.id { own += 1 } else { siblings += 1 }
            }
        }
        XCTAssertEqual(siblings + own, 79 * 5)
        XCTAssertGreaterThan(siblings, own, "with 5–10 relations per parent most parent positives come from siblings")
        XCTAssertGreaterThan(own, 0)
    }

    func testDeterministicAndKeyed() throws {
        let relations = try SemEvalTestData.load().training
        let a = TripletSampler(relations: relations, relationsPerBatch: 8, tripletsPerRelation: 3, seed: 5)
        let b = TripletSampler(relations: relations, relationsPerBatch: 8, tripletsPerRelation: 3, seed: 5)
        let c = TripletSampler(relations: relations, relationsPerBatch: 8, tripletsPerRelation: 3, seed: 6)
        XCTAssertEqual(a.batch(epoch: 2, index: 3), b.batch(epoch: 2, index: 3))
        XCTAssertEqual(a.epoch(2)[3], a.batch(epoch: 2, index: 3))
        XCTAssertNotEqual(a.batch(epoch: 2, index: 3), c.batch(epoch: 2, index: 3))
        XCTAssertNotEqual(a.batch(epoch: 2, index: 3), a.batch(epoch: 3, index: 3))
        XCTAssertNotEqual(a.order(epoch: 0), a.order(epoch: 1))
    }

    func testWithoutParentTriples() throws {
        let relations = try SemEvalTestData.load().training
        let sampler = TripletSampler(relations: relations, relationsPerBatch: 20, tripletsPerRelation: 2, seed: 0,
                                     parentTriples: false)
        let batch = sampler.batch(epoch: 0, index: 0)
        XCTAssertEqual(batch.triplets.count, 40)
        XCTAssertTrue(batch.kinds.allSatisfy { $0 == .relation })
    }

    func testRelationsThatCannotAnchorAreLeftOut() {
        let relations = [
            RelationExamples(id: "1a", parent: "1", positives: [WordPair("a", "1"), WordPair("a", "2")],
                             negatives: [WordPair("x", "1")]),
            RelationExamples(id: "1b", parent: "1", positives: [WordPair("b", "1")], negatives: [WordPair("x", "2")]),
            RelationExamples(id: "2a", parent: "2", positives: [WordPair("c", "1"), WordPair("c", "2")], negatives: []),
        ]
        let sampler = TripletSampler(relations: relations, relationsPerBatch: 4, tripletsPerRelation: 3, seed: 0)
        XCTAssertEqual(sampler.relations.map(\.id), ["1a"])
        let batch = sampler.batch(epoch: 0, index: 0)
        XCTAssertEqual(batch.kinds.filter { $0 == .parent }.count, 3)
        for i in batch.triplets.indices where batch.kinds[i] == .parent {
            XCTAssertEqual(batch.negativeRelations[i], "2a", "2a cannot anchor but its positives still serve")
            XCTAssertTrue(["1a", "1b"].contains(batch.positiveRelations[i]))
        }
    }
}
