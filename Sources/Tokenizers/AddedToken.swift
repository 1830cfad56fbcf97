/// A token matched literally in the input before the model sees it (`[MASK]`, `<s>`, ...),
/// with the flags of `tokenizers`' `AddedToken`.
struct AddedToken: Sendable, Equatable {
    var content: String
    var id: Int32
    /// Match only when not inside a word.
    var singleWord: Bool = false
    /// Absorb the whitespace on the left of the match.
    var lstrip: Bool = false
    /// Absorb the whitespace on the right of the match.
    var rstrip: Bool = false
    /// Match against the normalized text (true) or the raw text (false).
    var normalized: Bool = false
    var special: Bool = true
}

extension AddedToken {
    /// Reads one entry of `tokenizer.json`'s `added_tokens` or `tokenizer_config.json`'s
    /// `added_tokens_decoder` (where the id is the key, passed as `id`).
    init?(json: [String: Any], id fallbackID: Int32? = nil) {
        guard let content = json["content"] as? String, !content.isEmpty else { return nil }
        let id: Int32
        if let number = JSONValue.int(json["id"]) {
            guard number >= 0 && number < TokenTable.maxID else { return nil }
            id = Int32(number)
        } else if let fallbackID, fallbackID >= 0 && Int(fallbackID) < TokenTable.maxID {
            id = fallbackID
        } else {
            return nil
        }
        let special = JSONValue.bool(json["special"]) ?? false
        self.init(
            content: content, id: id,
            singleWord: JSONValue.bool(json["single_word"]) ?? false,
            lstrip: JSONValue.bool(json["lstrip"]) ?? false,
            rstrip: JSONValue.bool(json["rstrip"]) ?? false,
            normalized: JSONValue.bool(json["normalized"]) ?? !special,
            special: special)
    }
}
