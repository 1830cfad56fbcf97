import Foundation
import RelBERT
import XCTest

/// Where the repository's data lives: Tests/DataTests/<file>.swift → up three levels → data/.
enum SemEvalTestData {
    static var directory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data/semeval2012_task2")
    }

    static func load() throws -> SemEvalDataset {
        try SemEvalDataset.load(directory: directory)
    }

    /// A scratch directory with the given files (relative path → contents), removed by the caller.
    static func scratch(_ files: [String: Data]) throws -> URL {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("semeval-test-\(UUID().uuidString)")
        for (path, contents) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url)
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }
}

final class SemEvalDatasetTests: XCTestCase {
    func testCountsMatchRelBERTsConstruction() throws {
        let data = try SemEvalTestData.load()
        XCTAssertEqual(data.training.count, 79)
        XCTAssertEqual(data.validation.count, 79)
        XCTAssertEqual(data.training.map(\.id), data.validation.map(\.id))
        XCTAssertEqual(Set(data.training.map(\.id)).count, 79)
        for relation in data.training {
            XCTAssertEqual(relation.positives.count, 8, "training positives of \(relation.id)")
            XCTAssertEqual(relation.negatives.count, 8, "training negatives of \(relation.id)")
        }
        for relation in data.validation {
            XCTAssertEqual(relation.positives.count, 2, "validation positives of \(relation.id)")
            XCTAssertEqual(relation.negatives.count, 2, "validation negatives of \(relation.id)")
        }
        XCTAssertEqual(data.parents, (1 ... 10).map(String.init))
        let perParent = Dictionary(grouping: data.training, by: \.parent).mapValues(\.count)
        XCTAssertEqual((1 ... 10).map { perParent[String($0)] ?? 0 }, [5, 10, 8, 8, 9, 8, 8, 8, 9, 6])
    }

    func testRelationsAreInNaturalIDOrderWithNames() throws {
        let data = try SemEvalTestData.load()
        XCTAssertEqual(Array(data.training.map(\.id).prefix(7)), ["1a", "1b", "1c", "1d", "1e", "2a", "2b"])
        XCTAssertEqual(Array(data.training.map(\.id).suffix(2)), ["10e", "10f"])
        let ids = data.training.map(\.id)
        XCTAssertLessThan(ids.firstIndex(of: "9i")!, ids.firstIndex(of: "10a")!)
        let first = data.training[0]
        XCTAssertEqual(first.parent, "1")
        XCTAssertEqual(first.name, "Taxonomic")
        XCTAssertEqual(first.parentName, "CLASS-INCLUSION")
        XCTAssertEqual(data.training.first { $0.id == "10d" }?.parent, "10")
        XCTAssertTrue(data.training.allSatisfy { $0.name != nil && $0.parentName != nil })
    }

    /// Relation 1a against Training/GoldRatings-1a.txt (scores in the comments). Validation holds RelBERT's
    /// ascending indices 0 and 8: the 10th- and 2nd-best positive, the lowest and 9th-lowest negative.
    func testRelation1aAgainstTheFile() throws {
        let data = try SemEvalTestData.load()
        let training = try XCTUnwrap(data.training.first { $0.id == "1a" })
        let validation = try XCTUnwrap(data.validation.first { $0.id == "1a" })
        XCTAssertEqual(training.positives, [
            WordPair("weapon", "spear"),      // 50.0
            WordPair("bird", "robin"),        // 38.8 (line 13)
            WordPair("animal", "pig"),        // 35.4
            WordPair("vegetable", "carrot"),  // 34.7
            WordPair("color", "red"),         // 30.6
            WordPair("clothing", "shirt"),    // 30.0
            WordPair("currency", "dollar"),   // 29.2
            WordPair("jewelry", "ring"),      // 28.6
        ])
        XCTAssertEqual(validation.positives, [WordPair("tree", "oak"), WordPair("bird", "swan")])  // 38.8 (line 14), 25.0
        XCTAssertEqual(training.negatives, [
            WordPair("sweater", "knit"),       // -49.0
            WordPair("oak", "tree"),           // -46.9
            WordPair("dog", "pet"),            // -46.0
            WordPair("dollar", "currency"),    // -45.8
            WordPair("hair", "brown"),         // -42.9
            WordPair("couch", "furniture"),    // -39.6
            WordPair("art", "abstract"),       // -34.0
            WordPair("animal", "carabao"),     // -30.0 (line 44)
        ])
        XCTAssertEqual(validation.negatives, [WordPair("wheat", "bread"), WordPair("bush", "astilbe")])  // -55.1, -30.0
    }

    /// 1b has a tie at the top-10 boundary: garment:shirt (line 21) and lubricant:oil (line 22), both 22.0.
    /// RelBERT's stable ascending sort keeps the later line; it is then the 10th-best, so it is held out.
    func testBoundaryTieIsBrokenLikeRelBERT() throws {
        let data = try SemEvalTestData.load()
        let training = try XCTUnwrap(data.training.first { $0.id == "1b" })
        let validation = try XCTUnwrap(data.validation.first { $0.id == "1b" })
        XCTAssertEqual(validation.positives, [WordPair("tool", "screwdriver"), WordPair("lubricant", "oil")])
        XCTAssertFalse((training.positives + validation.positives).contains(WordPair("garment", "shirt")))
    }

    /// Every relation's four lists against RelBERT's own `get_training_data` (data.py @ 73850a3, run with
    /// python3 on these Gold files, reading them as it reads the Platinum ones), as an FNV-1a hash of
    /// `<id>|<list>|<sorted head:tail,...>` lines.
    func testEverySplitMatchesRelBERTsPythonOnTheSameFiles() throws {
        let data = try SemEvalTestData.load()
        var text = ""
        for (training, validation) in zip(data.training, data.validation) {
            for (list, pairs) in [("tp", training.positives), ("tn", training.negatives),
                                  ("vp", validation.positives), ("vn", validation.negatives)] {
                text += "\(training.id)|\(list)|" + pairs.map { "\($0.head):\($0.tail)" }.sorted().joined(separator: ",") + "\n"
            }
        }
        XCTAssertEqual(text.utf8.count, 24142)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        XCTAssertEqual(hash, 0x049f_3226_e335_79d5)
    }

    func testAllPairsListsEveryPairOnce() throws {
        let data = try SemEvalTestData.load()
        let pairs = data.allPairs()
        XCTAssertEqual(pairs.count, 1534)  // 79 × 20 = 1580 pairs, 46 of them repeats across relations
        XCTAssertEqual(Set(pairs).count, pairs.count)
        let everything = (data.training + data.validation).flatMap { $0.positives + $0.negatives }
        XCTAssertEqual(Set(everything), Set(pairs))
        XCTAssertEqual(pairs.first, WordPair("weapon", "spear"))
        XCTAssertEqual(pairs, data.allPairs())
    }

    /// Within a list, equal scores keep file order (positives highest first, negatives lowest first).
    func testEqualScoresKeepFileOrderWithinAList() {
        let entries = [
            (30.0, "p:a"), (20.0, "p:b"), (30.0, "p:c"), (20.0, "p:d"), (10.0, "p:e"), (20.0, "p:f"),
            (-5.0, "n:a"), (-9.0, "n:b"), (-5.0, "n:c"), (-9.0, "n:d"), (-1.0, "n:e"), (-5.0, "n:f"),
        ].enumerated().map { index, item in
            let words = item.1.split(separator: ":").map(String.init)
            return SemEvalRatings.Entry(score: item.0, pair: WordPair(words[0], words[1]), line: index + 1)
        }
        let split = SemEvalRatings.split(entries)
        // n = 6 → step 4: ascending indices 0 and 4 are held out.
        // Positives ascending: e(10) b d f(20) a c(30) → held out: e and a.
        XCTAssertEqual(split.trainingPositives.map(\.tail), ["c", "b", "d", "f"])
        XCTAssertEqual(split.validationPositives.map(\.tail), ["a", "e"])
        // Negatives ascending: b d(-9) a c f(-5) e(-1) → held out: b and f.
        XCTAssertEqual(split.trainingNegatives.map(\.tail), ["d", "a", "c", "e"])
        XCTAssertEqual(split.validationNegatives.map(\.tail), ["b", "f"])
    }

    // MARK: - Errors and edge cases

    func testMissingDirectory() {
        let url = URL(fileURLWithPath: "/nonexistent/semeval-\(UUID().uuidString)")
        XCTAssertThrowsError(try SemEvalDataset.load(directory: url)) { error in
            XCTAssertEqual(error as? SemEvalError, .missingDirectory(path: url.path))
            XCTAssertTrue("\(error)".contains(url.path))
        }
    }

    func testDirectoryWithoutRatings() throws {
        let root = try SemEvalTestData.scratch(["README.txt": Data("nothing here\n".utf8)])
        defer { try? FileManager.default.removeItem(at: root) }
        XCTAssertThrowsError(try SemEvalDataset.load(directory: root)) { error in
            XCTAssertEqual(error as? SemEvalError, .noRatingFiles(path: root.path))
        }
    }

    func testMalformedLineNamesFileAndLine() throws {
        let file = "# header\n#\n 74.0 \"tool:hammer\"\n 12.0 tool:saw\n"
        let root = try SemEvalTestData.scratch(["Training/GoldRatings-1a.txt": Data(file.utf8)])
        defer { try? FileManager.default.removeItem(at: root) }
        XCTAssertThrowsError(try SemEvalDataset.load(directory: root)) { error in
            guard case .malformedLine(let path, let line, _)? = error as? SemEvalError else {
                return XCTFail("expected malformedLine, got \(error)")
            }
            XCTAssertTrue(path.hasSuffix("Training/GoldRatings-1a.txt"), path)
            XCTAssertEqual(line, 4)
            XCTAssertTrue("\(error)".contains("GoldRatings-1a.txt:4:"), "\(error)")
        }
    }

    func testOtherMalformedLines() throws {
        let bad: [(String, Int)] = [
            (" 74.0 \"tool:hammer\"\nabc \"a:b\"\n", 2),         // score is not a number
            (" 74.0 \"tool:hammer:nail\"\n", 1),                // two colons
            (" 74.0 \"tool:\"\n", 1),                           // empty tail
            (" 74.0\"tool:hammer\"\n", 1),                      // no space after the score
            (" 74.0 \"tool:hammer\"\n 10.0 \"a:b\"\n-3.0 \"tool:hammer\"\n", 3),  // duplicate pair
            (" nan \"a:b\"\n", 1),                              // not finite
        ]
        for (contents, line) in bad {
            XCTAssertThrowsError(try SemEvalRatings.parse(Data(contents.utf8), path: "x.txt"), contents) { error in
                guard case .malformedLine(let path, let number, _)? = error as? SemEvalError else {
                    return XCTFail("expected malformedLine for \(contents), got \(error)")
                }
                XCTAssertEqual(path, "x.txt")
                XCTAssertEqual(number, line, contents)
            }
        }
    }

    func testInvalidUTF8NamesFileAndLine() throws {
        var bytes = Data("#\n 74.0 \"tool:hammer\"\n 10.0 \"caf".utf8)
        bytes.append(contentsOf: [0xE9, 0x22, 0x0A])  // Latin-1 é, closing quote, newline
        let root = try SemEvalTestData.scratch(["Testing/GoldRatings-3b.txt": bytes])
        defer { try? FileManager.default.removeItem(at: root) }
        XCTAssertThrowsError(try SemEvalDataset.load(directory: root)) { error in
            guard case .invalidUTF8(let path, let line)? = error as? SemEvalError else {
                return XCTFail("expected invalidUTF8, got \(error)")
            }
            XCTAssertTrue(path.hasSuffix("Testing/GoldRatings-3b.txt"), path)
            XCTAssertEqual(line, 3)
        }
    }

    func testBadFileNameAndDuplicateRelation() throws {
        let ok = Data(" 10.0 \"a:b\"\n".utf8)
        let badName = try SemEvalTestData.scratch(["Training/GoldRatings-x1.txt": ok])
        defer { try? FileManager.default.removeItem(at: badName) }
        XCTAssertThrowsError(try SemEvalDataset.load(directory: badName)) { error in
            guard case .badFileName(let path)? = error as? SemEvalError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("GoldRatings-x1.txt"))
        }
        let twice = try SemEvalTestData.scratch(["Training/GoldRatings-1a.txt": ok, "Testing/GoldRatings-1a.txt": ok])
        defer { try? FileManager.default.removeItem(at: twice) }
        XCTAssertThrowsError(try SemEvalDataset.load(directory: twice)) { error in
            guard case .duplicateRelation(let id, let paths)? = error as? SemEvalError else { return XCTFail("\(error)") }
            XCTAssertEqual(id, "1a")
            XCTAssertEqual(paths.count, 2)
        }
    }

    /// Fewer than 10 scored pairs on a side: RelBERT's rule with n = 5 holds out indices 0 and 4 (step 4),
    /// with n = 3 indices 0 and 2 (step 2), with n = 1 nothing (step 0; RelBERT would crash). Zero scores are
    /// neither positive nor negative. Also: CRLF line ends, no names file, ratings directly in the folder.
    func testShortRelationsFollowTheSameRule() throws {
        let file = [
            "# a header", " 50.0 \"p:1\"", " 40.0 \"p:2\"", " 30.0 \"p:3\"", " 20.0 \"p:4\"", " 10.0 \"p:5\"",
            "  0.0 \"z:0\"", "-10.0 \"n:1\"", "-20.0 \"n:2\"", "-30.0 \"n:3\"",
        ].joined(separator: "\r\n") + "\r\n"
        let single = " 5.0 \"only:one\"\n-5.0 \"only:negative\"\n"
        let root = try SemEvalTestData.scratch(["GoldRatings-2a.txt": Data(file.utf8), "GoldRatings-2b.txt": Data(single.utf8)])
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try SemEvalDataset.load(directory: root)
        XCTAssertEqual(data.training.map(\.id), ["2a", "2b"])
        let (training, validation) = (data.training[0], data.validation[0])
        XCTAssertNil(training.name)
        XCTAssertEqual(training.positives, [WordPair("p", "2"), WordPair("p", "3"), WordPair("p", "4")])
        XCTAssertEqual(validation.positives, [WordPair("p", "1"), WordPair("p", "5")])
        XCTAssertEqual(training.negatives, [WordPair("n", "2")])
        XCTAssertEqual(validation.negatives, [WordPair("n", "3"), WordPair("n", "1")])
        XCTAssertEqual(data.training[1].positives, [WordPair("only", "one")])
        XCTAssertEqual(data.training[1].negatives, [WordPair("only", "negative")])
        XCTAssertEqual(data.validation[1].positives, [])
        XCTAssertFalse(data.allPairs().contains(WordPair("z", "0")))
    }
}
