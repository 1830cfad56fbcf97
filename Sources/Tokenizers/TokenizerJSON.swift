import Foundation

/// The parts of a `tokenizers` `tokenizer.json` this module reads.
struct TokenizerJSON {
    let path: String
    let model: [String: Any]
    /// `model.type`: "WordPiece", "BPE", ...
    let modelType: String?
    let addedTokens: [AddedToken]
    /// nil when absent or `null`.
    let normalizer: [String: Any]?
    let preTokenizer: [String: Any]?
    let postProcessor: [String: Any]?

    static func load(directory: URL) throws(TokenizerError) -> TokenizerJSON? {
        let url = directory.appendingPathComponent("tokenizer.json")
        guard TokenizerFiles.exists(url) else { return nil }
        return try TokenizerJSON(url: url)
    }

    init(url: URL) throws(TokenizerError) {
        path = url.path
        let root = try TokenizerFiles.jsonObject(url)
        guard let model = JSONValue.object(root["model"]) else {
            throw .malformedJSON(path: path, reason: "no \"model\" object")
        }
        self.model = model
        modelType = model["type"] as? String
        var added: [AddedToken] = []
        if let entries = root["added_tokens"] as? [Any] {
            for (index, entry) in entries.enumerated() {
                guard let object = JSONValue.object(entry), let token = AddedToken(json: object) else {
                    throw .malformedJSON(path: path, reason: "added_tokens[\(index)] needs \"content\" and \"id\"")
                }
                added.append(token)
            }
        }
        addedTokens = added
        normalizer = JSONValue.object(root["normalizer"])
        preTokenizer = JSONValue.object(root["pre_tokenizer"])
        postProcessor = JSONValue.object(root["post_processor"])
    }

    /// The start and end token contents of the post-processor, if it has the single-sequence shape
    /// `start $A end` (`BertProcessing`, `RobertaProcessing`, or an equivalent `TemplateProcessing`).
    func startAndEndTokens() throws(TokenizerError) -> (start: String, end: String)? {
        guard let processor = postProcessor, let type = processor["type"] as? String else { return nil }
        switch type {
        case "BertProcessing", "RobertaProcessing":
            guard let cls = (processor["cls"] as? [Any])?.first as? String,
                  let sep = (processor["sep"] as? [Any])?.first as? String else {
                throw .malformedJSON(path: path, reason: "\(type) needs \"cls\" and \"sep\"")
            }
            return (cls, sep)
        case "TemplateProcessing":
            guard let single = processor["single"] as? [Any], single.count == 3,
                  let first = JSONValue.object(JSONValue.object(single[0])?["SpecialToken"])?["id"] as? String,
                  JSONValue.object(single[1])?["Sequence"] != nil,
                  let last = JSONValue.object(JSONValue.object(single[2])?["SpecialToken"])?["id"] as? String else {
                throw .unsupported(path: path, reason: "TemplateProcessing whose single template is not [special, $A, special]")
            }
            // The template names special-token entries whose `tokens` hold the actual token strings.
            let specials = JSONValue.object(processor["special_tokens"])
            let start = (JSONValue.object(specials?[first])?["tokens"] as? [Any])?.first as? String ?? first
            let end = (JSONValue.object(specials?[last])?["tokens"] as? [Any])?.first as? String ?? last
            return (start, end)
        default:
            throw .unsupported(path: path, reason: "post_processor type \(type)")
        }
    }
}
