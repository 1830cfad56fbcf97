import Foundation

/// One multiple-choice analogy question: which candidate pair relates like the stem pair?
public struct AnalogyQuestion: Sendable, Equatable {
    public var stem: WordPair
    public var choices: [WordPair]
    public var answer: Int
    public var prefix: String?
}

/// A set of analogy questions in the jsonl format of the RelBERT/AnalogyTools releases:
/// `{"stem": ["lie", "prevaricate"], "answer": 2, "choice": [["betray", "trust"], ...], "prefix": "grade12"}`.
public struct AnalogyDataset: Sendable {
    public let name: String
    public let path: String
    public let questions: [AnalogyQuestion]

    public init(name: String, path: String, questions: [AnalogyQuestion]) {
        self.name = name
        self.path = path
        self.questions = questions
    }

    public static func load(from url: URL) throws(DatasetError) -> AnalogyDataset {
        let lines = try TextLines.read(url)
        var questions: [AnalogyQuestion] = []
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line.allSatisfy(\.isWhitespace) { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            } catch {
                throw .malformedLine(path: url.path, line: number, reason: "not valid JSON")
            }
            guard let json = object as? [String: Any] else {
                throw .malformedLine(path: url.path, line: number, reason: "not a JSON object")
            }
            func pair(_ value: Any?, _ what: String) throws(DatasetError) -> WordPair {
                guard let words = value as? [String], words.count == 2 else {
                    throw .malformedLine(path: url.path, line: number, reason: "\(what) must be a list of two strings")
                }
                guard !words[0].isEmpty, !words[1].isEmpty else {
                    throw .malformedLine(path: url.path, line: number, reason: "\(what) has an empty word")
                }
                return WordPair(words[0], words[1])
            }
            let stem = try pair(json["stem"], "stem")
            guard let rawChoices = json["choice"] as? [Any], !rawChoices.isEmpty else {
                throw .malformedLine(path: url.path, line: number, reason: "choice must be a non-empty list of pairs")
            }
            var choices: [WordPair] = []
            for (c, raw) in rawChoices.enumerated() { choices.append(try pair(raw, "choice \(c)")) }
            guard let answer = (json["answer"] as? NSNumber)?.intValue, (0 ..< choices.count).contains(answer) else {
                throw .malformedLine(path: url.path, line: number, reason: "answer must be an index into choice (0..<\(choices.count))")
            }
            questions.append(AnalogyQuestion(stem: stem, choices: choices, answer: answer, prefix: json["prefix"] as? String))
        }
        guard !questions.isEmpty else { throw .empty(path: url.path) }
        let name = url.deletingPathExtension().lastPathComponent
        let parent = url.deletingLastPathComponent().lastPathComponent
        return AnalogyDataset(name: parent.isEmpty ? name : "\(parent)/\(name)", path: url.path, questions: questions)
    }
}

public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case invalidUTF8(path: String, line: Int)
    case malformedLine(path: String, line: Int, reason: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalidUTF8(let path, let line): return "\(path):\(line): invalid UTF-8"
        case .malformedLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .empty(let path): return "\(path): no items"
        }
    }
}

/// Reads a text file as lines, naming the first line that is not valid UTF-8.
public enum TextLines {
    public static func read(_ url: URL) throws(DatasetError) -> [String] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .cannotRead(path: url.path, reason: FileManager.default.fileExists(atPath: url.path) ? "permission denied or not a file" : "no such file")
        }
        return try split(data, path: url.path)
    }

    public static func split(_ data: Data, path: String) throws(DatasetError) -> [String] {
        var lines: [String] = []
        var number = 0
        for slice in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var bytes = slice
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            guard let line = String(validating: bytes, as: UTF8.self) else {
                throw .invalidUTF8(path: path, line: number)
            }
            lines.append(line)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
