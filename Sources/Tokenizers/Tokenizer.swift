/// The result of tokenizing one text: token ids and their vocabulary strings, start and end tokens included.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int32]
    /// The vocabulary string of each id (what `convert_ids_to_tokens` gives in transformers).
    public var tokens: [String]

    public init(ids: [Int32], tokens: [String]) {
        self.ids = ids
        self.tokens = tokens
    }
}

/// A tokenizer that turns one text into `start ... end` ids, as Hugging Face `tokenizers` does.
public protocol Tokenizer: Sendable {
    /// Number of ids the tokenizer can produce (model vocabulary plus added tokens).
    var vocabularySize: Int { get }
    /// `[MASK]` or `<mask>`.
    var maskToken: String { get }
    var maskTokenID: Int32 { get }
    var padTokenID: Int32 { get }
    /// `[CLS]` / `<s>`.
    var startTokenID: Int32 { get }
    /// `[SEP]` / `</s>`.
    var endTokenID: Int32 { get }
    var specialTokenIDs: Set<Int32> { get }
    /// Tokenizes `text` and wraps it in the start and end tokens. The result has at most
    /// `max(maxLength, 2)` tokens: content beyond `maxLength - 2` tokens is dropped from the end,
    /// and the end token is always kept.
    func encode(_ text: String, maxLength: Int) -> Encoding
}

extension Tokenizer {
    /// The default length limit, 64 tokens including the start and end tokens.
    public static var defaultMaxLength: Int { 64 }

    /// Tokenizes `text` truncated to 64 tokens.
    public func encode(_ text: String) -> Encoding {
        encode(text, maxLength: Self.defaultMaxLength)
    }
}
