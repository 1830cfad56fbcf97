import Foundation

/// What `tokenizer_config.json` (and, for special tokens it lacks, `special_tokens_map.json`) says.
/// Every field is nil when the file or the key is absent.
struct TokenizerConfig {
    enum Role: String, CaseIterable {
        case unknown = "unk_token", separator = "sep_token", padding = "pad_token"
        case classifier = "cls_token", mask = "mask_token", begin = "bos_token", end = "eos_token"
    }

    var doLowerCase: Bool?
    /// `.some(nil)` when the key is present with `null` (strip accents follows lowercase).
    var stripAccents: Bool??
    var tokenizeChineseChars: Bool?
    var addPrefixSpace: Bool?
    var specialTokens: [Role: String] = [:]
    /// `added_tokens_decoder`, when present.
    var addedTokens: [AddedToken]?

    init() {}

    init(directory: URL) throws(TokenizerError) {
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        if let config = try TokenizerFiles.optionalJSONObject(configURL) {
            doLowerCase = JSONValue.bool(config["do_lower_case"])
            if let value = config["strip_accents"] {
                stripAccents = .some(value is NSNull ? nil : JSONValue.bool(value))
            }
            tokenizeChineseChars = JSONValue.bool(config["tokenize_chinese_chars"])
            addPrefixSpace = JSONValue.bool(config["add_prefix_space"])
            for role in Role.allCases {
                if let content = JSONValue.tokenContent(config[role.rawValue]) { specialTokens[role] = content }
            }
            if let decoder = JSONValue.object(config["added_tokens_decoder"]) {
                var tokens: [AddedToken] = []
                for (key, value) in decoder {
                    guard let id = Int32(key), let entry = JSONValue.object(value),
                          let token = AddedToken(json: entry, id: id) else {
                        throw .malformedJSON(path: configURL.path, reason: "bad added_tokens_decoder entry \"\(key)\"")
                    }
                    tokens.append(token)
                }
                addedTokens = tokens.sorted { $0.id < $1.id }
            }
        }
        let mapURL = directory.appendingPathComponent("special_tokens_map.json")
        if let map = try TokenizerFiles.optionalJSONObject(mapURL) {
            for role in Role.allCases where specialTokens[role] == nil {
                if let content = JSONValue.tokenContent(map[role.rawValue]) { specialTokens[role] = content }
            }
        }
    }
}
