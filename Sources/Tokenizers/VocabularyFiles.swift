import Foundation

/// Readers for vocabularies and merge lists, in their plain-file and `tokenizer.json` forms.
enum VocabularyFiles {
    /// `vocab.txt`: one token per line, id = line index (0-based).
    static func readVocabTxt(_ url: URL) throws(TokenizerError) -> [(String, Int32)] {
        let lines = try TokenizerFiles.lines(url)
        guard !lines.isEmpty else { throw .malformedVocabulary(path: url.path, line: nil, reason: "the file is empty") }
        guard lines.count < TokenTable.maxID else { throw .malformedVocabulary(path: url.path, line: nil, reason: "too many tokens") }
        return lines.enumerated().map { ($0.element, Int32($0.offset)) }
    }

    /// `vocab.json`: an object token -> id.
    static func readVocabJSON(_ url: URL) throws(TokenizerError) -> [(String, Int32)] {
        try entries(of: TokenizerFiles.jsonObject(url), path: url.path, what: "vocab.json")
    }

    /// `model.vocab` of `tokenizer.json`: an object token -> id.
    static func vocabulary(of json: TokenizerJSON) throws(TokenizerError) -> [(String, Int32)] {
        guard let vocab = JSONValue.object(json.model["vocab"]) else {
            throw .malformedVocabulary(path: json.path, line: nil, reason: "model.vocab is not an object")
        }
        return try entries(of: vocab, path: json.path, what: "model.vocab")
    }

    private static func entries(of object: [String: Any], path: String, what: String) throws(TokenizerError) -> [(String, Int32)] {
        guard !object.isEmpty else { throw .malformedVocabulary(path: path, line: nil, reason: "\(what) is empty") }
        var result: [(String, Int32)] = []
        result.reserveCapacity(object.count)
        for (token, value) in object {
            guard let id = JSONValue.int(value), id >= 0 else {
                throw .malformedVocabulary(path: path, line: nil, reason: "\(what): the id of \"\(token)\" is not a non-negative integer")
            }
            guard id < TokenTable.maxID else {
                throw .malformedVocabulary(path: path, line: nil, reason: "\(what): the id \(id) of \"\(token)\" is implausibly large")
            }
            result.append((token, Int32(id)))
        }
        // Dictionary order is random; sort so that duplicate handling and tables are deterministic.
        result.sort { $0.1 < $1.1 }
        return result
    }

    /// Merge pairs in rank order, with the 1-based source line of each (for error messages).
    struct Merges {
        var pairs: [(String, String)] = []
        var lines: [Int] = []
    }

    /// `merges.txt`: an optional `#version` line, then `left right` per line.
    static func readMergesTxt(_ url: URL) throws(TokenizerError) -> Merges {
        var lines = try TokenizerFiles.lines(url)
        while lines.last?.isEmpty == true { lines.removeLast() }
        var merges = Merges()
        merges.pairs.reserveCapacity(lines.count)
        merges.lines.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            if line.utf8.starts(with: "#version".utf8) { continue }
            let parts = splitOnSpaces(line)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .malformedMerges(path: url.path, line: index + 1, reason: "expected two tokens separated by one space, got \"\(line)\"")
            }
            merges.pairs.append((parts[0], parts[1]))
            merges.lines.append(index + 1)
        }
        return merges
    }

    /// `model.merges` of `tokenizer.json`: strings `"left right"` or arrays `["left", "right"]`.
    /// The "line" of entry i is i + 1.
    static func merges(of json: TokenizerJSON) throws(TokenizerError) -> Merges {
        guard let entries = json.model["merges"] as? [Any] else {
            throw .malformedMerges(path: json.path, line: 0, reason: "model.merges is not an array")
        }
        var merges = Merges()
        merges.pairs.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            if let string = entry as? String {
                let parts = splitOnSpaces(string)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw .malformedMerges(path: json.path, line: index + 1, reason: "model.merges[\(index)] \"\(string)\" is not two tokens separated by one space")
                }
                merges.pairs.append((parts[0], parts[1]))
            } else if let pair = entry as? [Any], pair.count == 2, let left = pair[0] as? String, let right = pair[1] as? String {
                merges.pairs.append((left, right))
            } else {
                throw .malformedMerges(path: json.path, line: index + 1, reason: "model.merges[\(index)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
            merges.lines.append(index + 1)
        }
        return merges
    }

    /// Splits on every U+0020, scalar by scalar (a `Character` split would glue a space to a
    /// following combining mark).
    static func splitOnSpaces(_ text: String) -> [String] {
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == " " {
                parts.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        parts.append(String(current))
        return parts
    }
}
