import Foundation

/// Collects tensors and writes them as one safetensors file, atomically.
///
/// Layout: the header JSON has its keys sorted and is padded with spaces to a multiple of 8
/// bytes, so the data section starts 8-byte aligned; tensors follow in insertion order, packed
/// back to back with no gaps. Packing is what the reference implementation (Hugging Face
/// `safetensors`) requires of a file it reads, so every tensor sits at an offset that is a
/// multiple of its element size as long as no odd-length F16/BF16 tensor precedes a 4-byte one
/// (readers of this module accept any alignment anyway).
public struct SafeTensorsWriter: Sendable {
    /// Written as `__metadata__` (omitted when empty).
    public var metadata: [String: String] = [:]

    private struct Entry: Sendable {
        var name: String
        var dtype: DType
        var shape: [Int]
        var bytes: [UInt8]
    }

    private var entries: [Entry] = []
    private var names: Set<String> = []
    /// A problem found by the non-throwing `add(_:shape:int32s:)`, reported by `write(to:)`.
    private var deferredProblem: Problem?

    /// Something wrong with an `add` call, turned into an error once the path is known.
    private enum Problem: Sendable {
        case reservedName(String)
        case duplicate(String)
        case invalidShape(String, [Int])
        case countMismatch(String, expected: Int, found: Int)

        func error(path: String) -> SafeTensorsError {
            switch self {
            case .reservedName(let name):
                return .malformedHeader(path: path, reason: "'\(name)' cannot be a tensor name")
            case .duplicate(let name):
                return .malformedHeader(path: path, reason: "tensor '\(name)' added twice")
            case .invalidShape(let name, let shape):
                return .malformedHeader(path: path, reason: "tensor '\(name)' has invalid shape \(shape)")
            case .countMismatch(let name, let expected, let found):
                return .elementCountMismatch(path: path, name: name, expected: expected, found: found)
            }
        }
    }

    /// Stands in for the path in errors raised before there is one.
    public static let unwrittenPath = "<unwritten safetensors file>"

    public init() {}

    /// Names of the tensors added so far, in insertion order.
    public var tensorNames: [String] { entries.map(\.name) }

    /// Adds a float tensor stored as `dtype` (F32, F16 or BF16; the narrow types round to
    /// nearest even). `floats.count` must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>,
                             as dtype: DType = .F32) throws(SafeTensorsError) {
        let path = Self.unwrittenPath
        guard dtype == .F32 || dtype == .F16 || dtype == .BF16 else {
            throw SafeTensorsError.unsupportedDType(path: path, name: name, dtype: dtype.rawValue)
        }
        if let problem = Self.check(name: name, shape: shape, count: floats.count, existing: names) {
            throw problem.error(path: path)
        }
        let count = floats.count
        let bytes = [UInt8](unsafeUninitializedCapacity: count &* dtype.byteSize) { buffer, initialized in
            if count > 0, let src = floats.baseAddress, let dst = buffer.baseAddress {
                switch dtype {
                case .F16: FloatConversion.encodeF16(src, UnsafeMutableRawPointer(dst), count)
                case .BF16: FloatConversion.encodeBF16(src, UnsafeMutableRawPointer(dst), count)
                default: memcpy(dst, src, count &* 4)  // F32, little-endian host
                }
            }
            initialized = count &* dtype.byteSize
        }
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
        names.insert(name)
    }

    /// Convenience: adds a float tensor from an array.
    public mutating func add(_ name: String, shape: [Int], floats: [Float],
                             as dtype: DType = .F32) throws(SafeTensorsError) {
        var failure: SafeTensorsError?
        floats.withUnsafeBufferPointer { buffer in
            do throws(SafeTensorsError) {
                try add(name, shape: shape, floats: buffer, as: dtype)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Adds an I32 tensor. `int32s.count` must equal the product of `shape`; since this method
    /// does not throw, a violation (or a duplicate name) is reported by `write(to:)`, which then
    /// writes nothing.
    public mutating func add(_ name: String, shape: [Int], int32s: [Int32]) {
        if let problem = Self.check(name: name, shape: shape, count: int32s.count, existing: names) {
            if deferredProblem == nil { deferredProblem = problem }
            return
        }
        let bytes = int32s.withUnsafeBytes { raw in [UInt8](raw) }  // little-endian host
        entries.append(Entry(name: name, dtype: .I32, shape: shape, bytes: bytes))
        names.insert(name)
    }

    /// Validation shared by the `add` methods.
    private static func check(name: String, shape: [Int], count: Int, existing: Set<String>) -> Problem? {
        if name == HeaderParser.metadataKey { return .reservedName(name) }
        if existing.contains(name) { return .duplicate(name) }
        var elements = 1
        for dimension in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            if dimension < 0 || overflow { return .invalidShape(name, shape) }
            elements = product
        }
        if elements != count { return .countMismatch(name, expected: elements, found: count) }
        return nil
    }

    /// The header JSON, unpadded.
    func headerJSON(path: String) throws(SafeTensorsError) -> [UInt8] {
        var object: [String: Any] = [:]
        if !metadata.isEmpty { object[HeaderParser.metadataKey] = metadata }
        var offset = 0
        for entry in entries {
            let end = offset + entry.bytes.count
            object[entry.name] = [
                "dtype": entry.dtype.rawValue,
                "shape": entry.shape,
                "data_offsets": [offset, end],
            ] as [String: Any]
            offset = end
        }
        do {
            let data = try JSONSerialization.data(withJSONObject: object,
                                                  options: [.sortedKeys, .withoutEscapingSlashes])
            return [UInt8](data)
        } catch {
            throw SafeTensorsError.writeFailed(path: path,
                                               reason: "cannot encode header: \(error.localizedDescription)")
        }
    }

    /// Writes the file atomically (temporary file, fsync, rename, directory fsync). On failure
    /// the target is untouched, the temporary file removed, and `writeFailed` names the path.
    public func write(to url: URL) throws(SafeTensorsError) {
        try write(to: url, calls: .live)
    }

    func write(to url: URL, calls: AtomicFile.SystemCalls) throws(SafeTensorsError) {
        let path = url.path
        if let deferredProblem { throw deferredProblem.error(path: path) }
        var header = try headerJSON(path: path)
        let padding = (8 - header.count % 8) % 8
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        let length = UInt64(header.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: length) { [UInt8]($0) }

        try AtomicFile(url: url, calls: calls).write([lengthBytes, header] + entries.map(\.bytes))
    }
}
