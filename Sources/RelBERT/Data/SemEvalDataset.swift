import Foundation

/// The positive and negative word pairs of one SemEval-2012 Task 2 relation (a "subcategory" such as `1a`,
/// Class-Inclusion / Taxonomic), for one split.
public struct RelationExamples: Sendable, Equatable {
    /// The subcategory id: a number and a letter, `1a` … `10f`.
    public let id: String
    /// The parent category: the leading number of `id` (`"10"` for `10d`). There are 10 parents.
    public let parent: String
    /// The subcategory name from `subcategories-list.txt` (`"Taxonomic"`), when that file was found.
    public let name: String?
    /// The parent category name from `subcategories-list.txt` (`"CLASS-INCLUSION"`), when that file was found.
    public let parentName: String?
    /// Pairs that illustrate the relation well, highest gold score first.
    public var positives: [WordPair]
    /// Pairs that illustrate it badly (negative gold score), lowest score first.
    public var negatives: [WordPair]

    public init(id: String, parent: String, name: String? = nil, parentName: String? = nil,
                positives: [WordPair], negatives: [WordPair]) {
        self.id = id
        self.parent = parent
        self.name = name
        self.parentName = parentName
        self.positives = positives
        self.negatives = negatives
    }
}

/// RelBERT's training data: SemEval-2012 Task 2 gold ratings turned into positives and negatives per relation.
///
/// Construction (RelBERT `relbert/data.py` @ 73850a3, `get_training_data`, reproduced exactly):
/// 1. Read every `GoldRatings-<id>.txt`: `#` header lines, then ` 74.0 "tool:hammer"` (score, quoted `head:tail`).
/// 2. Sort the pairs by score, ascending, with a *stable* sort (ties keep file order) — Python's `sorted`.
/// 3. Negatives = the first 10 of that order whose score is < 0; positives = the last 10 whose score is > 0.
///    Because of the stable ascending sort, a tie at the top-10 boundary is won by the pair that comes *later*
///    in the file, a tie at the bottom-10 boundary by the pair that comes *earlier*. This matters: 18 Gold files
///    have a tie at the top-10 boundary and 16 at the bottom-10 one.
/// 4. Validation = every `int(0.8·n)`-th item of each list in that ascending order, starting at index 0; for
///    n = 10 that is ascending indices 0 and 8: the 10th- and 2nd-best positive, the lowest and 9th-lowest negative.
///    The other 8 go to training. (n ≤ 1 gives a step of 0, on which RelBERT would crash; here everything then
///    goes to training.)
/// 5. Each list is then presented sorted by score — positives highest first, negatives lowest first, ties in
///    file order. Only the order changes; which pairs are in which split is exactly step 3–4.
///
/// RelBERT's EMNLP code read the *Platinum* ratings; only the Gold ratings are available here (see
/// data/SOURCES.md §5), so a few top/bottom-10 pairs may differ from the published model's training data.
public struct SemEvalDataset: Sendable {
    public let training: [RelationExamples]
    public let validation: [RelationExamples]

    /// Pairs taken per side (positives, negatives) per relation before the validation split.
    public static let pairsPerSide = 10

    public init(training: [RelationExamples], validation: [RelationExamples]) {
        self.training = training
        self.validation = validation
    }

    /// The distinct parent categories, in relation order ("1" … "10").
    public var parents: [String] {
        var seen = Set<String>()
        return training.map(\.parent).filter { seen.insert($0).inserted }
    }

    /// Every distinct pair of the data set, each once: relation by relation (natural id order), training positives,
    /// validation positives, training negatives, validation negatives; a pair already listed is skipped.
    /// The order depends only on the data, so it can key an embedding index.
    public func allPairs() -> [WordPair] {
        let validationByID = Dictionary(validation.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<WordPair>()
        var result: [WordPair] = []
        func add(_ pairs: [WordPair]) {
            for pair in pairs where seen.insert(pair).inserted { result.append(pair) }
        }
        var listed = Set<String>()
        for relation in training {
            listed.insert(relation.id)
            let held = validationByID[relation.id]
            add(relation.positives)
            add(held?.positives ?? [])
            add(relation.negatives)
            add(held?.negatives ?? [])
        }
        for relation in validation where !listed.contains(relation.id) {
            add(relation.positives)
            add(relation.negatives)
        }
        return result
    }

    /// Loads the ratings. `directory` may be `data/semeval2012_task2`, its `SemEval-2012-Gold-Ratings` folder,
    /// or any folder holding `GoldRatings-<id>.txt` files directly or in `Training/` and `Testing/`.
    /// Names come from `subcategories-list.txt` when it is found next to the ratings (or in the sibling
    /// `SemEval-2012-Complete-Data-Package`); otherwise `name` and `parentName` are nil.
    public static func load(directory: URL) throws(SemEvalError) -> SemEvalDataset {
        let root = directory.standardizedFileURL
        guard isDirectory(root) else { throw .missingDirectory(path: directory.path) }

        let files = ratingFiles(under: root)
        guard !files.isEmpty else { throw .noRatingFiles(path: directory.path) }

        var pathByID: [String: String] = [:]
        var relations: [(id: String, number: Int, suffix: String, entries: [SemEvalRatings.Entry])] = []
        for file in files {
            let name = file.deletingPathExtension().lastPathComponent
            let id = String(name.dropFirst("GoldRatings-".count))
            guard let (number, suffix) = splitRelationID(id) else { throw .badFileName(path: file.path) }
            if let other = pathByID[id] { throw .duplicateRelation(id: id, paths: [other, file.path]) }
            pathByID[id] = file.path
            let entries = try SemEvalRatings.parse(try readFile(file), path: file.path)
            relations.append((id, number, suffix, entries))
        }
        relations.sort { ($0.number, $0.suffix) < ($1.number, $1.suffix) }

        let names = try subcategoryNames(near: root)
        var training: [RelationExamples] = []
        var validation: [RelationExamples] = []
        for relation in relations {
            let split = SemEvalRatings.split(relation.entries, perSide: pairsPerSide)
            let parent = String(relation.number)
            let label = names[relation.id]
            training.append(RelationExamples(id: relation.id, parent: parent, name: label?.name, parentName: label?.parent,
                                             positives: split.trainingPositives, negatives: split.trainingNegatives))
            validation.append(RelationExamples(id: relation.id, parent: parent, name: label?.name, parentName: label?.parent,
                                               positives: split.validationPositives, negatives: split.validationNegatives))
        }
        return SemEvalDataset(training: training, validation: validation)
    }

    // MARK: - Files

    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// `GoldRatings-*.txt` in the directory, its Training/Testing, and the same under SemEval-2012-Gold-Ratings/.
    static func ratingFiles(under root: URL) -> [URL] {
        let gold = root.appendingPathComponent("SemEval-2012-Gold-Ratings")
        let folders = [root, root.appendingPathComponent("Training"), root.appendingPathComponent("Testing"),
                       gold, gold.appendingPathComponent("Training"), gold.appendingPathComponent("Testing")]
        var files: [URL] = []
        for folder in folders where isDirectory(folder) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for name in names.sorted() where name.hasPrefix("GoldRatings-") && name.hasSuffix(".txt") {
                files.append(folder.appendingPathComponent(name))
            }
        }
        return files
    }

    static func readFile(_ url: URL) throws(SemEvalError) -> Data {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw .cannotRead(path: url.path, reason: exists ? "permission denied or not a regular file" : "no such file")
        }
        return data
    }

    /// `"10d"` → (10, "d"); nil unless the id is digits followed by lowercase letters.
    static func splitRelationID(_ id: String) -> (Int, String)? {
        let digits = id.prefix { $0.isASCII && $0.isNumber }
        let suffix = id.dropFirst(digits.count)
        guard !digits.isEmpty, !suffix.isEmpty, suffix.allSatisfy({ $0.isASCII && $0.isLowercase }),
              let number = Int(digits) else { return nil }
        return (number, String(suffix))
    }

    /// Reads `subcategories-list.txt` (`1, a, CLASS-INCLUSION, Taxonomic`) if one is found.
    static func subcategoryNames(near root: URL) throws(SemEvalError) -> [String: (parent: String, name: String)] {
        let fileName = "subcategories-list.txt"
        let candidates = [
            root.appendingPathComponent(fileName),
            root.appendingPathComponent("SemEval-2012-Gold-Ratings").appendingPathComponent(fileName),
            root.appendingPathComponent("SemEval-2012-Complete-Data-Package").appendingPathComponent(fileName),
            root.deletingLastPathComponent().appendingPathComponent("SemEval-2012-Complete-Data-Package")
                .appendingPathComponent(fileName),
        ]
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else { return [:] }
        var names: [String: (parent: String, name: String)] = [:]
        for (number, line) in try SemEvalRatings.lines(try readFile(url), path: url.path) {
            if line.allSatisfy(\.isWhitespace) { continue }
            let fields = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 4, splitRelationID(fields[0] + fields[1]) != nil, !fields[2].isEmpty, !fields[3].isEmpty else {
                throw .malformedLine(path: url.path, line: number,
                                     reason: "expected `<number>, <letter>, <CATEGORY>, <Subcategory>`")
            }
            names[fields[0] + fields[1]] = (fields[2], fields[3])
        }
        return names
    }
}

/// The gold-rating file format and RelBERT's selection rule, usable on their own (e.g. on in-memory data).
public enum SemEvalRatings {
    /// One rated pair: the score (−100…100, "Most − Least" percentage) and its 1-based line in the file.
    public struct Entry: Sendable, Equatable {
        public let score: Double
        public let pair: WordPair
        public let line: Int

        public init(score: Double, pair: WordPair, line: Int) {
            self.score = score
            self.pair = pair
            self.line = line
        }
    }

    /// The four lists of one relation (see `SemEvalDataset` for the rule).
    public struct Split: Sendable, Equatable {
        public var trainingPositives: [WordPair]
        public var trainingNegatives: [WordPair]
        public var validationPositives: [WordPair]
        public var validationNegatives: [WordPair]
    }

    /// Parses a `GoldRatings-<id>.txt` file: lines starting with `#` and blank lines are skipped; every other
    /// line must be `<score> "<head>:<tail>"` with a finite score, exactly one `:` and non-empty words.
    /// A pair listed twice is an error (its score would be ambiguous).
    public static func parse(_ data: Data, path: String) throws(SemEvalError) -> [Entry] {
        var entries: [Entry] = []
        var firstLine: [WordPair: Int] = [:]
        for (number, line) in try lines(data, path: path) {
            if line.hasPrefix("#") || line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            func bad(_ reason: String) -> SemEvalError {
                .malformedLine(path: path, line: number, reason: reason)
            }
            let body = line.drop { $0 == " " || $0 == "\t" }
            let scoreText = body.prefix { $0 != " " && $0 != "\t" }
            guard let score = Double(scoreText), score.isFinite else {
                throw bad("expected a score followed by a quoted \"head:tail\" pair, got `\(line)`")
            }
            var quoted = body.dropFirst(scoreText.count)
            guard let first = quoted.first, first == " " || first == "\t" else {
                throw bad("expected a space after the score, got `\(line)`")
            }
            quoted = quoted.drop { $0 == " " || $0 == "\t" }
            while let last = quoted.last, last == " " || last == "\t" { quoted = quoted.dropLast() }
            guard quoted.count >= 2, quoted.first == "\"", quoted.last == "\"" else {
                throw bad("expected the pair in double quotes, got `\(line)`")
            }
            let inner = quoted.dropFirst().dropLast()
            let words = inner.split(separator: ":", omittingEmptySubsequences: false)
            guard !inner.contains("\""), words.count == 2, !words[0].isEmpty, !words[1].isEmpty else {
                throw bad("expected \"head:tail\" with exactly one ':' and two non-empty words, got `\(line)`")
            }
            let pair = WordPair(String(words[0]), String(words[1]))
            if let earlier = firstLine[pair] {
                throw bad("pair \(words[0]):\(words[1]) already listed on line \(earlier)")
            }
            firstLine[pair] = number
            entries.append(Entry(score: score, pair: pair, line: number))
        }
        return entries
    }

    /// RelBERT's rule (see `SemEvalDataset`): bottom/top `perSide` by a stable ascending sort, validation every
    /// `int(0.8·n)`-th item from index 0 in that order; then presented positives-descending, negatives-ascending.
    public static func split(_ entries: [Entry], perSide: Int = 10) -> Split {
        // Stable ascending sort by score (ties in file order), like Python's sorted(key=score).
        let ascending = entries.enumerated()
            .sorted { ($0.element.score, $0.offset) < ($1.element.score, $1.offset) }
            .map(\.element)
        let negatives = ascending.prefix(perSide).filter { $0.score < 0 }
        let positives = ascending.suffix(perSide).filter { $0.score > 0 }

        func holdOut(_ list: [Entry]) -> (training: [Entry], validation: [Entry]) {
            let step = list.count * 4 / 5  // == int(n * 0.8) for every n (0.8 is stored slightly above 4/5)
            guard step > 0 else { return (list, []) }
            var training: [Entry] = []
            var validation: [Entry] = []
            for (index, entry) in list.enumerated() {
                if index % step == 0 { validation.append(entry) } else { training.append(entry) }
            }
            return (training, validation)
        }
        func byScore(_ list: [Entry], descending: Bool) -> [WordPair] {
            list.sorted { a, b in
                if a.score != b.score { return descending ? a.score > b.score : a.score < b.score }
                return a.line < b.line
            }.map(\.pair)
        }
        let p = holdOut(positives)
        let n = holdOut(negatives)
        return Split(trainingPositives: byScore(p.training, descending: true),
                     trainingNegatives: byScore(n.training, descending: false),
                     validationPositives: byScore(p.validation, descending: true),
                     validationNegatives: byScore(n.validation, descending: false))
    }

    /// Splits `data` into (1-based line number, line) on `\n`, dropping a trailing `\r` and the empty piece after
    /// a final newline; throws on the first line that is not valid UTF-8.
    static func lines(_ data: Data, path: String) throws(SemEvalError) -> [(Int, String)] {
        var result: [(Int, String)] = []
        var number = 0
        for slice in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var bytes = slice
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            let line = String(decoding: bytes, as: UTF8.self)
            // Decoding replaces ill-formed bytes with U+FFFD, so a valid line re-encodes to the same bytes.
            guard line.utf8.elementsEqual(bytes) else { throw .invalidUTF8(path: path, line: number) }
            result.append((number, line))
        }
        if let last = result.last, last.1.isEmpty { result.removeLast() }
        return result
    }
}
