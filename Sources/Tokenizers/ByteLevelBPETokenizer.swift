import Foundation

/// RoBERTa's tokenizer: added tokens split out of the raw text, GPT-2 pre-tokenizer over each
/// remaining piece, byte-level mapping, BPE, then `<s> ... </s>`.
public struct ByteLevelBPETokenizer: Tokenizer {
    private let model: BPEModel
    /// Added tokens matched in the raw text (`normalized: false`, e.g. `<mask>`).
    private let rawSplitter: SpecialTokenSplitter
    /// Added tokens with `normalized: true` (there is no normalizer, so they match the same text).
    private let normalizedSplitter: SpecialTokenSplitter
    private let table: TokenTable
    private let postProcessor: PostProcessor
    /// Prepend a space to each text piece that does not start with one.
    let addPrefixSpace: Bool
    /// Split with the GPT-2 pattern (`use_regex`); without it each text piece is one word.
    let useRegex: Bool

    public let maskToken: String
    public let maskTokenID: Int32
    public let padTokenID: Int32
    public let startTokenID: Int32
    public let endTokenID: Int32
    public let specialTokenIDs: Set<Int32>
    public var vocabularySize: Int { table.count }

    /// Loads `vocab.json` + `merges.txt`, or without them `model.vocab` + `model.merges` of
    /// `tokenizer.json`. Options come from `tokenizer.json` (pre-tokenizer, added tokens and their
    /// `lstrip`/`rstrip` flags, post-processor) and `tokenizer_config.json` (`add_prefix_space`,
    /// special-token names). Without either, `<mask>` strips the whitespace on its left, as in RoBERTa.
    public init(directory: URL) throws(TokenizerError) {
        try self.init(directory: directory, tokenizerJSON: TokenizerJSON.load(directory: directory))
    }

    init(directory: URL, tokenizerJSON json: TokenizerJSON?) throws(TokenizerError) {
        let config = try TokenizerConfig(directory: directory)

        let vocabURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        let vocabulary: [(String, Int32)]
        let merges: VocabularyFiles.Merges
        let mergesSource: String
        if TokenizerFiles.exists(vocabURL) && TokenizerFiles.exists(mergesURL) {
            vocabulary = try VocabularyFiles.readVocabJSON(vocabURL)
            merges = try VocabularyFiles.readMergesTxt(mergesURL)
            mergesSource = mergesURL.path
        } else if let json, json.model["vocab"] != nil {
            vocabulary = try VocabularyFiles.vocabulary(of: json)
            merges = try VocabularyFiles.merges(of: json)
            mergesSource = json.path
        } else {
            throw .missingFile(path: TokenizerFiles.exists(vocabURL) ? mergesURL.path : vocabURL.path)
        }

        var addPrefixSpace = false
        var useRegex = true
        var unknownToken: String? = nil
        var fuseUnknown = false
        var ignoreMerges = false
        if let json {
            if let type = json.modelType, type != "BPE" {
                throw .unknownTokenizerType("\(json.path) has model type \(type), not BPE")
            }
            for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
                if let value = json.model[key] as? String, !value.isEmpty {
                    throw .unsupported(path: json.path, reason: "BPE with \(key) \"\(value)\"")
                }
            }
            if JSONValue.bool(json.model["byte_fallback"]) == true {
                throw .unsupported(path: json.path, reason: "BPE with byte_fallback")
            }
            unknownToken = json.model["unk_token"] as? String
            fuseUnknown = JSONValue.bool(json.model["fuse_unk"]) ?? false
            ignoreMerges = JSONValue.bool(json.model["ignore_merges"]) ?? false
            if let normalizer = json.normalizer {
                throw .unsupported(path: json.path, reason: "normalizer \(normalizer["type"] as? String ?? "?") before byte-level BPE")
            }
            guard let pre = json.preTokenizer, pre["type"] as? String == "ByteLevel" else {
                throw .unsupported(path: json.path, reason: "pre_tokenizer \(json.preTokenizer?["type"] as? String ?? "null") (only ByteLevel)")
            }
            addPrefixSpace = JSONValue.bool(pre["add_prefix_space"]) ?? false
            useRegex = JSONValue.bool(pre["use_regex"]) ?? true
        }
        if let value = config.addPrefixSpace { addPrefixSpace = value }

        let ends = try json?.startAndEndTokens()
        let start = ends?.start ?? config.specialTokens[.classifier] ?? config.specialTokens[.begin] ?? "<s>"
        let end = ends?.end ?? config.specialTokens[.separator] ?? config.specialTokens[.end] ?? "</s>"
        let pad = config.specialTokens[.padding] ?? "<pad>"
        let mask = config.specialTokens[.mask] ?? "<mask>"
        let unknown = config.specialTokens[.unknown] ?? "<unk>"

        var lookup: [String: Int32] = [:]
        lookup.reserveCapacity(vocabulary.count)
        for (token, id) in vocabulary { lookup[token] = id }
        let added = TokenTable.addedTokens(
            declared: json?.addedTokens ?? config.addedTokens ?? [],
            specials: [(start, false), (end, false), (unknown, false), (pad, false), (mask, true)],
            lookup: { lookup[$0] })
        let table = TokenTable(vocabulary: vocabulary, addedTokens: added)

        let mergeLines = merges.lines
        model = try BPEModel(
            vocabulary: lookup, merges: merges.pairs, source: mergesSource,
            mergeLine: { mergeLines.indices.contains($0) ? mergeLines[$0] : $0 + 1 },
            unknownToken: unknownToken, fuseUnknown: fuseUnknown, ignoreMerges: ignoreMerges)
        self.table = table
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
        startTokenID = try table.require(start)
        endTokenID = try table.require(end)
        padTokenID = try table.require(pad)
        maskToken = mask
        maskTokenID = try table.require(mask)
        postProcessor = PostProcessor(startID: startTokenID, endID: endTokenID)
        rawSplitter = SpecialTokenSplitter(tokens: added.filter { !$0.normalized })
        normalizedSplitter = SpecialTokenSplitter(tokens: added.filter(\.normalized))
        var special = Set(added.filter(\.special).map(\.id))
        special.formUnion([startTokenID, endTokenID, padTokenID, maskTokenID])
        if let unknownID = table.id(of: unknown) { special.insert(unknownID) }
        specialTokenIDs = special
    }

    public func encode(_ text: String, maxLength: Int) -> Encoding {
        let budget = PostProcessor.contentBudget(maxLength: maxLength)
        var content: [Int32] = []
        content.reserveCapacity(min(budget, 128))
        let scalars = Array(text.unicodeScalars)
        var segments: [TextSegment] = []
        rawSplitter.split(scalars, range: scalars.indices, into: &segments)
        if !normalizedSplitter.isEmpty {
            // No normalizer: normalized added tokens are searched in the same text pieces.
            let raw = segments
            segments.removeAll(keepingCapacity: true)
            for segment in raw {
                if case .text(let range) = segment {
                    normalizedSplitter.split(scalars, range: range, into: &segments)
                } else {
                    segments.append(segment)
                }
            }
        }
        var bytes: [UInt8] = []
        for segment in segments where content.count < budget {
            switch segment {
            case .token(let id):
                content.append(id)
            case .text(let range):
                if addPrefixSpace && scalars[range.lowerBound] != " " {
                    let prefixed = [" "] + scalars[range]
                    tokenize(prefixed, range: prefixed.indices, bytes: &bytes, into: &content, budget: budget)
                } else {
                    tokenize(scalars, range: range, bytes: &bytes, into: &content, budget: budget)
                }
            }
        }
        return postProcessor.encoding(content: content, maxLength: maxLength, tokens: table)
    }

    /// Pre-tokenizes `text[range]`, maps each piece to bytes and appends its BPE ids, stopping once
    /// `budget` ids are there. `bytes` is scratch space.
    private func tokenize(
        _ text: [Unicode.Scalar], range: Range<Int>, bytes: inout [UInt8], into content: inout [Int32], budget: Int
    ) {
        guard useRegex else {
            bytes.removeAll(keepingCapacity: true)
            ByteLevel.appendUTF8(text[range], to: &bytes)
            model.tokenize(bytes, into: &content)
            return
        }
        GPT2PreTokenizer.forEachPiece(in: text, range: range) { piece in
            bytes.removeAll(keepingCapacity: true)
            ByteLevel.appendUTF8(text[piece], to: &bytes)
            model.tokenize(bytes, into: &content)
            return content.count < budget
        }
    }
}
