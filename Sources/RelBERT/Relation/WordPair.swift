/// A (head, tail) word pair, such as (paris, france).
public struct WordPair: Hashable, Sendable, CustomStringConvertible {
    public var head: String
    public var tail: String

    public init(_ head: String, _ tail: String) {
        self.head = head
        self.tail = tail
    }

    /// The pair read the other way round: (france, paris).
    public var reversed: WordPair { WordPair(tail, head) }

    public var description: String { "(\(head), \(tail))" }
}
