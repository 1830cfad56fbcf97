import Foundation
import Tokenizers

/// The shape of a learned prompt, `z1..zπ [h] zπ+1..zπ+τ [t] zπ+τ+1..zπ+τ+γ`: π trigger positions
/// before the head word, τ between the words, γ after the tail (RelBERT's `n_trigger_b/i/e`).
///
/// A pair is tokenized as RelBERT does it: the text `<mask> … h <mask> … t <mask> …` (one mask token
/// per trigger, words separated by spaces) goes through the model's tokenizer, and the mask tokens are
/// then replaced, in order, by the triggers. For a continuous prompt (P-tuning) trigger k becomes the
/// token id `vocabulary + k`, which the ``Encoder`` reads from the prompt vectors.
public struct ContinuousPrompt: Sendable, Equatable, Codable {
    public var before: Int
    public var between: Int
    public var after: Int

    public init(before: Int, between: Int, after: Int) {
        self.before = before
        self.between = between
        self.after = after
    }

    public var triggerCount: Int { before + between + after }

    public var description: String { "\(before)/\(between)/\(after)" }

    /// The text whose mask tokens mark the trigger positions.
    public func text(for pair: WordPair, maskToken: String) -> String {
        func masks(_ n: Int) -> [String] { Array(repeating: maskToken, count: n) }
        return (masks(before) + [pair.head] + masks(between) + [pair.tail] + masks(after)).joined(separator: " ")
    }

    /// Token ids with trigger k as `vocabulary + k`. Throws when truncation to `maxLength` would cut a
    /// trigger, or when a word contains the mask token itself.
    public func tokenize(_ pair: WordPair, tokenizer: any Tokenizer, vocabulary: Int, maxLength: Int) throws(EmbeddingError) -> [Int32] {
        let mask = tokenizer.maskToken
        try RelationEmbedder.validate(pair)
        if pair.head.contains(mask) || pair.tail.contains(mask) { throw .wordContainsMask(pair) }
        var ids = tokenizer.encode(text(for: pair, maskToken: mask), maxLength: maxLength).ids
        var next = 0
        for i in ids.indices where ids[i] == tokenizer.maskTokenID {
            ids[i] = Int32(vocabulary + next)
            next += 1
        }
        guard next == triggerCount else { throw .triggerTruncated("\(pair)") }
        return ids
    }
}
