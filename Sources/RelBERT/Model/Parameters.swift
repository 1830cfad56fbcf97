/// All parameters of an encoder in one contiguous buffer, addressed through its ``ParameterLayout``.
public final class Parameters: @unchecked Sendable {
    public let layout: ParameterLayout
    public let storage: FloatBuffer

    public init(layout: ParameterLayout) {
        self.layout = layout
        self.storage = FloatBuffer(count: layout.totalCount)
    }

    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// The values of one named tensor (a copy), or nil when the layout has no such name.
    public func values(of name: String) -> [Float]? {
        layout.tensor(named: name).map { storage.array($0.range) }
    }

    /// A deep copy, e.g. the master weights a trainer updates while workers read their own.
    public func copy() -> Parameters {
        let other = Parameters(layout: layout)
        other.pointer.update(from: pointer, count: layout.totalCount)
        return other
    }
}
