import Foundation

/// Picks and loads the right tokenizer for a model folder.
public enum TokenizerLoader {
    /// Model types (`config.json`'s `model_type`) whose tokenizer is WordPiece or byte-level BPE.
    static let wordPieceModelTypes: Set<String> = ["bert", "distilbert", "electra"]
    static let byteLevelBPEModelTypes: Set<String> = ["roberta", "longformer"]

    /// Loads the tokenizer in `directory`.
    ///
    /// - When `tokenizer.json` exists, its `model.type` decides: `WordPiece` or `BPE`.
    /// - Otherwise `modelType` decides (`bert` -> WordPiece, `roberta` -> byte-level BPE, and a few
    ///   relatives), and without a known one the files present do: `vocab.txt` -> WordPiece,
    ///   `vocab.json` + `merges.txt` -> BPE.
    public static func load(directory: URL, modelType: String?) throws(TokenizerError) -> any Tokenizer {
        let json = try TokenizerJSON.load(directory: directory)
        if let json, let type = json.modelType {
            switch type {
            case "WordPiece": return try WordPieceTokenizer(directory: directory, tokenizerJSON: json)
            case "BPE": return try ByteLevelBPETokenizer(directory: directory, tokenizerJSON: json)
            default: throw .unknownTokenizerType("\(json.path) has model type \(type)")
            }
        }
        let type = modelType?.lowercased()
        if let type, wordPieceModelTypes.contains(type) {
            return try WordPieceTokenizer(directory: directory, tokenizerJSON: json)
        }
        if let type, byteLevelBPEModelTypes.contains(type) {
            return try ByteLevelBPETokenizer(directory: directory, tokenizerJSON: json)
        }
        if TokenizerFiles.exists(directory.appendingPathComponent("vocab.txt")) {
            return try WordPieceTokenizer(directory: directory, tokenizerJSON: json)
        }
        if TokenizerFiles.exists(directory.appendingPathComponent("vocab.json"))
            && TokenizerFiles.exists(directory.appendingPathComponent("merges.txt")) {
            return try ByteLevelBPETokenizer(directory: directory, tokenizerJSON: json)
        }
        throw .unknownTokenizerType(
            "no tokenizer.json, vocab.txt or vocab.json + merges.txt in \(directory.path)"
                + (modelType.map { " and model type \($0) is not one this module knows" } ?? ""))
    }
}
