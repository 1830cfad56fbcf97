/// Everything that can go wrong while loading a tokenizer. Encoding itself never fails.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file the tokenizer needs does not exist.
    case missingFile(path: String)
    /// A file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// A vocabulary (`vocab.txt`, `vocab.json`, or `model.vocab` in `tokenizer.json`) is malformed.
    case malformedVocabulary(path: String, line: Int?, reason: String)
    /// A merges list (`merges.txt` or `model.merges` in `tokenizer.json`) is malformed; `line` is 1-based.
    case malformedMerges(path: String, line: Int, reason: String)
    /// A JSON file is not valid JSON or lacks a field the tokenizer needs.
    case malformedJSON(path: String, reason: String)
    /// The directory holds no tokenizer this module knows, or `model.type` / the model type names another kind.
    case unknownTokenizerType(String)
    /// The tokenizer uses a component this module does not implement (e.g. another normalizer).
    case unsupported(path: String, reason: String)
    /// A special token the tokenizer needs (`[CLS]`, `<mask>`, ...) is not in the vocabulary.
    case missingSpecialToken(String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "missing tokenizer file: \(path)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .malformedVocabulary(let path, let line, let reason):
            if let line { return "malformed vocabulary \(path), line \(line): \(reason)" }
            return "malformed vocabulary \(path): \(reason)"
        case .malformedMerges(let path, let line, let reason):
            return "malformed merges \(path), line \(line): \(reason)"
        case .malformedJSON(let path, let reason):
            return "malformed JSON \(path): \(reason)"
        case .unknownTokenizerType(let what):
            return "unknown tokenizer type: \(what)"
        case .unsupported(let path, let reason):
            return "unsupported tokenizer feature in \(path): \(reason)"
        case .missingSpecialToken(let token):
            return "special token \(token) is not in the vocabulary"
        }
    }
}
