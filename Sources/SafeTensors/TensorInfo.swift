/// What the header says about one tensor.
///
/// Instances come only from a validated header (`SafeTensorsFile`), so `shape` is non-negative,
/// the element count does not overflow, and `dataOffsets.count == elementCount * dtype.byteSize`.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the first byte after the header.
    public let dataOffsets: Range<Int>

    init(name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Product of `shape` (1 for a scalar, shape `[]`).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Size of the tensor's data in bytes.
    public var byteCount: Int { dataOffsets.count }
}
