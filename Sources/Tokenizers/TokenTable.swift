/// Id <-> token string for a whole tokenizer: the model vocabulary plus added tokens (an added
/// token's id may lie past the model vocabulary).
struct TokenTable: Sendable {
    /// Ids at or above this are rejected when loading: no real vocabulary comes close, and a table
    /// sized by a corrupt id would exhaust memory.
    static let maxID = 1 << 24

    let idToToken: [String]
    private let tokenToID: [String: Int32]
    let addedTokens: [AddedToken]

    var count: Int { idToToken.count }

    /// `vocabulary` holds (token, id) pairs with non-negative ids; for a repeated token the last
    /// pair wins the lookup, and ids no entry names get empty strings.
    init(vocabulary: [(String, Int32)], addedTokens: [AddedToken]) {
        var size = 0
        for (_, id) in vocabulary { size = max(size, Int(id) + 1) }
        for token in addedTokens { size = max(size, Int(token.id) + 1) }
        var names = [String](repeating: "", count: size)
        var lookup: [String: Int32] = [:]
        lookup.reserveCapacity(vocabulary.count + addedTokens.count)
        for (token, id) in vocabulary {
            names[Int(id)] = token
            lookup[token] = id
        }
        for token in addedTokens {
            names[Int(token.id)] = token.content
            lookup[token.content] = token.id
        }
        idToToken = names
        tokenToID = lookup
        self.addedTokens = addedTokens
    }

    func id(of token: String) -> Int32? { tokenToID[token] }

    /// The id of a special token the tokenizer cannot work without.
    func require(_ token: String) throws(TokenizerError) -> Int32 {
        guard let id = tokenToID[token] else { throw .missingSpecialToken(token) }
        return id
    }

    @inline(__always)
    func token(for id: Int32) -> String {
        id >= 0 && Int(id) < idToToken.count ? idToToken[Int(id)] : ""
    }

    /// The added tokens to split on: those given (from `tokenizer.json` or `added_tokens_decoder`),
    /// plus each named special token that is in the vocabulary but not yet among them.
    static func addedTokens(
        declared: [AddedToken], specials: [(content: String, lstrip: Bool)], lookup: (String) -> Int32?
    ) -> [AddedToken] {
        var tokens = declared
        var contents = Set(declared.map(\.content))
        for special in specials where !contents.contains(special.content) {
            guard let id = lookup(special.content) else { continue }
            tokens.append(AddedToken(content: special.content, id: id, lstrip: special.lstrip, normalized: false, special: true))
            contents.insert(special.content)
        }
        return tokens
    }
}
