import Foundation

/// A prompt that turns a word pair into a sentence: `<subj>` is replaced by the head word, `<obj>` by
/// the tail word and `<mask>` by the tokenizer's mask token.
public struct PromptTemplate: Sendable, Equatable, CustomStringConvertible {
    /// The five manual templates of the RelBERT paper (EMNLP 2021), verbatim. Quirks kept on purpose:
    /// `b` and `e` have two spaces after `<obj>`; `d` and `e` use the typographic apostrophe U+2019.
    public static let builtIn: [String: String] = [
        "a": "Today, I finally discovered the relation between <subj> and <obj> : <subj> is the <mask> of <obj>",
        "b": "Today, I finally discovered the relation between <subj> and <obj> : <obj>  is <subj>'s <mask>",
        "c": "Today, I finally discovered the relation between <subj> and <obj> : <mask>",
        "d": "I wasn\u{2019}t aware of this relationship, but I just read in the encyclopedia that <subj> is the <mask> of <obj>",
        "e": "I wasn\u{2019}t aware of this relationship, but I just read in the encyclopedia that <obj>  is <subj>\u{2019}s <mask>",
    ]

    public static let defaultName = "d"

    /// The template's text with its placeholders.
    public let text: String
    /// `a` to `e` for a built-in template, nil for a custom one.
    public let name: String?

    /// A built-in template by name (`a` to `e`), or a custom template's text.
    public init(_ nameOrText: String) throws(PromptTemplateError) {
        if let builtIn = Self.builtIn[nameOrText] {
            text = builtIn
            name = nameOrText
            return
        }
        guard nameOrText.contains("<subj>"), nameOrText.contains("<obj>") else {
            if nameOrText.count <= 2 {
                throw .unknownName(nameOrText)
            }
            throw .missingPlaceholder(template: nameOrText)
        }
        text = nameOrText
        name = nil
    }

    public static var `default`: PromptTemplate {
        // The built-in name always resolves.
        PromptTemplate(builtInName: defaultName)
    }

    private init(builtInName: String) {
        text = Self.builtIn[builtInName] ?? ""
        name = builtInName
    }

    public var hasMask: Bool { text.contains("<mask>") }

    public func fill(_ pair: WordPair, maskToken: String) -> String {
        text.replacingOccurrences(of: "<subj>", with: pair.head, options: .literal)
            .replacingOccurrences(of: "<obj>", with: pair.tail, options: .literal)
            .replacingOccurrences(of: "<mask>", with: maskToken, options: .literal)
    }

    public var description: String { name ?? text }
}

public enum PromptTemplateError: Error, CustomStringConvertible, Equatable {
    case unknownName(String)
    case missingPlaceholder(template: String)

    public var description: String {
        switch self {
        case .unknownName(let name):
            return "unknown template '\(name)': use a to e, or a text with <subj>, <obj> and usually <mask>"
        case .missingPlaceholder(let template):
            return "template must contain both <subj> and <obj>: \"\(template)\""
        }
    }
}
