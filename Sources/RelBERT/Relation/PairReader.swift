import Foundation

/// Reads word pairs, one `head<TAB>tail` per line, naming the line of any bad input.
public enum PairReader {
    public static func parse(_ data: Data, source: String) throws(PairInputError) -> [WordPair] {
        let lines: [String]
        do {
            lines = try TextLines.split(data, path: source)
        } catch {
            if case .invalidUTF8(_, let line) = error { throw .invalidUTF8(source: source, line: line) }
            throw .unreadable(source: source, reason: error.description)
        }
        var pairs: [WordPair] = []
        pairs.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { throw .missingTab(source: source, line: number) }
            guard fields.count == 2 else { throw .tooManyFields(source: source, line: number, count: fields.count) }
            let head = fields[0].trimmingCharacters(in: .whitespaces)
            let tail = fields[1].trimmingCharacters(in: .whitespaces)
            guard !head.isEmpty, !tail.isEmpty else { throw .emptyWord(source: source, line: number) }
            pairs.append(WordPair(head, tail))
        }
        return pairs
    }
}

public enum PairInputError: Error, CustomStringConvertible, Equatable {
    case unreadable(source: String, reason: String)
    case invalidUTF8(source: String, line: Int)
    case missingTab(source: String, line: Int)
    case tooManyFields(source: String, line: Int, count: Int)
    case emptyWord(source: String, line: Int)

    public var description: String {
        switch self {
        case .unreadable(let source, let reason): return "\(source): \(reason)"
        case .invalidUTF8(let source, let line): return "\(source):\(line): invalid UTF-8"
        case .missingTab(let source, let line): return "\(source):\(line): expected head<TAB>tail, found no tab"
        case .tooManyFields(let source, let line, let count): return "\(source):\(line): expected head<TAB>tail, found \(count) fields"
        case .emptyWord(let source, let line): return "\(source):\(line): empty word"
        }
    }
}
