import Foundation

/// BERT's tokenizer: added tokens split out of the raw text, BERT normalizer, BERT pre-tokenizer,
/// WordPiece, then `[CLS] ... [SEP]`.
public struct WordPieceTokenizer: Tokenizer {
    private let model: WordPiece
    private let normalizer: BertNormalizer?
    /// Added tokens matched in the raw text (`normalized: false`, e.g. `[MASK]`).
    private let rawSplitter: SpecialTokenSplitter
    /// Added tokens matched in the normalized text (`normalized: true`).
    private let normalizedSplitter: SpecialTokenSplitter
    private let table: TokenTable
    private let postProcessor: PostProcessor

    public let maskToken: String
    public let maskTokenID: Int32
    public let padTokenID: Int32
    public let startTokenID: Int32
    public let endTokenID: Int32
    public let unknownTokenID: Int32
    public let specialTokenIDs: Set<Int32>
    public var vocabularySize: Int { table.count }

    /// Loads `vocab.txt` (or, without it, `model.vocab` of `tokenizer.json`), with options from
    /// `tokenizer.json` (normalizer, added tokens, post-processor) and `tokenizer_config.json`
    /// (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars` and special-token names, which
    /// take precedence as they do in transformers).
    public init(directory: URL) throws(TokenizerError) {
        try self.init(directory: directory, tokenizerJSON: TokenizerJSON.load(directory: directory))
    }

    init(directory: URL, tokenizerJSON json: TokenizerJSON?) throws(TokenizerError) {
        let config = try TokenizerConfig(directory: directory)

        let vocabURL = directory.appendingPathComponent("vocab.txt")
        let vocabulary: [(String, Int32)]
        if TokenizerFiles.exists(vocabURL) {
            vocabulary = try VocabularyFiles.readVocabTxt(vocabURL)
        } else if let json, json.model["vocab"] != nil {
            vocabulary = try VocabularyFiles.vocabulary(of: json)
        } else {
            throw .missingFile(path: vocabURL.path)
        }

        var unknown = config.specialTokens[.unknown] ?? "[UNK]"
        var prefix = "##"
        var maxChars = 100
        var normalizer: BertNormalizer? = BertNormalizer(
            handleChineseChars: config.tokenizeChineseChars ?? true,
            stripAccents: config.stripAccents ?? nil,
            lowercase: config.doLowerCase ?? true)
        if let json {
            if let type = json.modelType, type != "WordPiece" {
                throw .unknownTokenizerType("\(json.path) has model type \(type), not WordPiece")
            }
            if let value = json.model["unk_token"] as? String { unknown = value }
            if let value = json.model["continuing_subword_prefix"] as? String { prefix = value }
            if let value = JSONValue.int(json.model["max_input_chars_per_word"]) { maxChars = value }
            normalizer = try Self.normalizer(json: json, config: config)
            let preTokenizer = json.preTokenizer?["type"] as? String
            guard preTokenizer == "BertPreTokenizer" else {
                throw .unsupported(path: json.path, reason: "pre_tokenizer \(preTokenizer ?? "null") (only BertPreTokenizer)")
            }
        }

        let ends = try json?.startAndEndTokens()
        let start = ends?.start ?? config.specialTokens[.classifier] ?? "[CLS]"
        let end = ends?.end ?? config.specialTokens[.separator] ?? "[SEP]"
        let pad = config.specialTokens[.padding] ?? "[PAD]"
        let mask = config.specialTokens[.mask] ?? "[MASK]"

        var lookup: [String: Int32] = [:]
        lookup.reserveCapacity(vocabulary.count)
        for (token, id) in vocabulary { lookup[token] = id }
        let added = TokenTable.addedTokens(
            declared: json?.addedTokens ?? config.addedTokens ?? [],
            specials: [start, end, pad, mask, unknown].map { ($0, false) },
            lookup: { lookup[$0] })
        let table = TokenTable(vocabulary: vocabulary, addedTokens: added)
        guard let unknownID = lookup[unknown] else { throw .missingSpecialToken(unknown) }

        self.init(
            model: WordPiece(tokens: vocabulary, unknownID: unknownID, continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars),
            normalizer: normalizer, table: table,
            startTokenID: try table.require(start), endTokenID: try table.require(end),
            padTokenID: try table.require(pad), maskToken: mask, maskTokenID: try table.require(mask),
            unknownTokenID: unknownID)
    }

    /// A tokenizer over an in-memory vocabulary (id = index), with the standard BERT special tokens.
    /// Any of `[PAD] [UNK] [CLS] [SEP] [MASK]` missing from `vocabulary` is added after it, the way
    /// `tokenizers` gives added tokens new ids.
    public init(vocabulary: [String], lowercase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool) {
        var entries = vocabulary.enumerated().map { ($0.element, Int32($0.offset)) }
        var lookup: [String: Int32] = [:]
        for (token, id) in entries { lookup[token] = id }
        var added: [AddedToken] = []
        var ids: [String: Int32] = [:]
        for special in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            let id = lookup[special] ?? Int32(entries.count)
            if lookup[special] == nil { entries.append((special, id)) }
            ids[special] = id
            added.append(AddedToken(content: special, id: id))
        }
        let unknownID = ids["[UNK]"] ?? 0
        self.init(
            model: WordPiece(tokens: entries, unknownID: unknownID),
            normalizer: BertNormalizer(handleChineseChars: tokenizeChineseChars, stripAccents: stripAccents, lowercase: lowercase),
            table: TokenTable(vocabulary: entries, addedTokens: added),
            startTokenID: ids["[CLS]"] ?? 0, endTokenID: ids["[SEP]"] ?? 0, padTokenID: ids["[PAD]"] ?? 0,
            maskToken: "[MASK]", maskTokenID: ids["[MASK]"] ?? 0, unknownTokenID: unknownID)
    }

    private init(
        model: WordPiece, normalizer: BertNormalizer?, table: TokenTable,
        startTokenID: Int32, endTokenID: Int32, padTokenID: Int32, maskToken: String, maskTokenID: Int32,
        unknownTokenID: Int32
    ) {
        self.model = model
        self.normalizer = normalizer
        self.table = table
        self.startTokenID = startTokenID
        self.endTokenID = endTokenID
        self.padTokenID = padTokenID
        self.maskToken = maskToken
        self.maskTokenID = maskTokenID
        self.unknownTokenID = unknownTokenID
        postProcessor = PostProcessor(startID: startTokenID, endID: endTokenID)
        rawSplitter = SpecialTokenSplitter(tokens: table.addedTokens.filter { !$0.normalized })
        normalizedSplitter = SpecialTokenSplitter(tokens: table.addedTokens.filter(\.normalized)) { token in
            let scalars = Array(token.content.unicodeScalars)
            return normalizer?.normalize(scalars[...]) ?? scalars
        }
        var special = Set(table.addedTokens.filter(\.special).map(\.id))
        special.formUnion([startTokenID, endTokenID, padTokenID, maskTokenID, unknownTokenID])
        specialTokenIDs = special
    }

    /// The BERT normalizer `tokenizer.json` describes, with `tokenizer_config.json` overriding its
    /// three options when it sets them; nil for a `null` normalizer.
    private static func normalizer(json: TokenizerJSON, config: TokenizerConfig) throws(TokenizerError) -> BertNormalizer? {
        guard let spec = json.normalizer else { return nil }
        guard spec["type"] as? String == "BertNormalizer" else {
            throw .unsupported(path: json.path, reason: "normalizer type \(spec["type"] as? String ?? "?") (only BertNormalizer)")
        }
        let lowercase = config.doLowerCase ?? JSONValue.bool(spec["lowercase"]) ?? true
        let stripAccents: Bool? = config.stripAccents ?? JSONValue.bool(spec["strip_accents"])
        return BertNormalizer(
            cleanText: JSONValue.bool(spec["clean_text"]) ?? true,
            handleChineseChars: config.tokenizeChineseChars ?? JSONValue.bool(spec["handle_chinese_chars"]) ?? true,
            stripAccents: stripAccents,
            lowercase: lowercase)
    }

    public func encode(_ text: String, maxLength: Int) -> Encoding {
        let budget = PostProcessor.contentBudget(maxLength: maxLength)
        var content: [Int32] = []
        content.reserveCapacity(min(budget, 128))
        let scalars = Array(text.unicodeScalars)
        var segments: [TextSegment] = []
        rawSplitter.split(scalars, range: scalars.indices, into: &segments)
        var pieces: [TextSegment] = []
        for segment in segments where content.count < budget {
            switch segment {
            case .token(let id):
                content.append(id)
            case .text(let range):
                let normalized = normalizer?.normalize(scalars[range]) ?? Array(scalars[range])
                pieces.removeAll(keepingCapacity: true)
                normalizedSplitter.split(normalized, range: normalized.indices, into: &pieces)
                for piece in pieces where content.count < budget {
                    switch piece {
                    case .token(let id):
                        content.append(id)
                    case .text(let pieceRange):
                        BertPreTokenizer.forEachWord(in: normalized, range: pieceRange) { word in
                            model.tokenize(normalized, word: word, into: &content)
                            return content.count < budget
                        }
                    }
                }
            }
        }
        return postProcessor.encoding(content: content, maxLength: maxLength, tokens: table)
    }
}
