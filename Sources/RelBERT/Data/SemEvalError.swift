/// Why the SemEval-2012 Task 2 ratings could not be loaded. Every case names the file (and line, where there
/// is one), so a bad download or a hand-edited file can be found at once.
public enum SemEvalError: Error, CustomStringConvertible, Equatable {
    /// The directory given to `SemEvalDataset.load(directory:)` does not exist or is not a directory.
    case missingDirectory(path: String)
    /// The directory exists but holds no `GoldRatings-<id>.txt` file (looked in it, `Training/`, `Testing/` and
    /// `SemEval-2012-Gold-Ratings/{Training,Testing}/`).
    case noRatingFiles(path: String)
    /// A file could not be read at all.
    case cannotRead(path: String, reason: String)
    /// Line `line` (1-based) of `path` is not valid UTF-8.
    case invalidUTF8(path: String, line: Int)
    /// Line `line` (1-based) of `path` does not have the expected shape; `reason` says what is wrong.
    case malformedLine(path: String, line: Int, reason: String)
    /// A file is called `GoldRatings-<id>.txt` but `<id>` is not a relation id such as `1a` or `10d`.
    case badFileName(path: String)
    /// Two rating files claim the same relation id.
    case duplicateRelation(id: String, paths: [String])

    public var description: String {
        switch self {
        case .missingDirectory(let path): return "\(path): no such directory"
        case .noRatingFiles(let path): return "\(path): no GoldRatings-<id>.txt files found"
        case .cannotRead(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalidUTF8(let path, let line): return "\(path):\(line): invalid UTF-8"
        case .malformedLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .badFileName(let path): return "\(path): file name is not GoldRatings-<number><letter>.txt"
        case .duplicateRelation(let id, let paths): return "relation \(id) appears in more than one file: \(paths.joined(separator: ", "))"
        }
    }
}
