import Foundation

/// A lexical relation classification set: word pairs with a relation label, in train, validation
/// and test splits (BLESS, CogALexV, EVALution, K&H+N, ROOT09; `data/lexical_relation_classification`).
public struct LexicalDataset: Sendable {
    public struct Example: Sendable, Equatable {
        public let pair: WordPair
        public let label: Int
    }

    public let name: String
    /// Label names, sorted; an example's `label` indexes this list.
    public let labels: [String]
    public let train: [Example]
    /// Empty for CogALexV, which has no validation split.
    public let validation: [Example]
    public let test: [Example]

    public static let bundledNames = ["BLESS", "CogALexV", "EVALution", "K&H+N", "ROOT09"]

    /// Loads `directory/NAME`: `train.tsv`, `val.tsv`, `test.tsv` (head<TAB>tail<TAB>label), or
    /// CogALexV's `CogALexV_{train,test}_v1/gold_task2.txt` in the same format.
    public static func load(name: String, directory: URL) throws(DatasetError) -> LexicalDataset {
        let folder = directory.appendingPathComponent(name)
        let files: [URL?]
        let cogalex = folder.appendingPathComponent("CogALexV_train_v1/gold_task2.txt")
        if FileManager.default.fileExists(atPath: cogalex.path) {
            files = [cogalex, nil, folder.appendingPathComponent("CogALexV_test_v1/gold_task2.txt")]
        } else {
            files = ["train", "val", "test"].map { folder.appendingPathComponent("\($0).tsv") }
        }
        var rows: [[(WordPair, String)]] = []
        for file in files {
            guard let file else { rows.append([]); continue }
            var split: [(WordPair, String)] = []
            for (number, line) in try TextLines.read(file).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                guard fields.count == 3, !fields[0].isEmpty, !fields[1].isEmpty, !fields[2].isEmpty else {
                    throw .malformedLine(path: file.path, line: number + 1, reason: "expected head<TAB>tail<TAB>label")
                }
                split.append((WordPair(fields[0], fields[1]), fields[2]))
            }
            rows.append(split)
        }
        let labels = Array(Set(rows.flatMap { $0.map(\.1) })).sorted()
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let splits = rows.map { $0.map { Example(pair: $0.0, label: index[$0.1]!) } }
        guard !splits[0].isEmpty, !splits[2].isEmpty else {
            throw .empty(path: folder.path)
        }
        return LexicalDataset(name: name, labels: labels, train: splits[0], validation: splits[1], test: splits[2])
    }

    /// Every pair the features need: each example's pair and its reverse.
    public var featurePairs: [WordPair] {
        (train + validation + test).flatMap { [$0.pair, $0.pair.reversed] }
    }
}
