/// Everything that can go wrong reading or writing a safetensors file.
///
/// Every case names the file (`path`) and, where one is involved, the tensor.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, examined or mapped.
    case cannotOpen(path: String, reason: String)
    /// The file ends before what its header promises (or before the header itself).
    case truncated(path: String, reason: String)
    /// The header is not valid UTF-8 JSON of the expected form, or its entries contradict each other.
    case malformedHeader(path: String, reason: String)
    /// No tensor of that name in the file.
    case missingTensor(path: String, name: String)
    /// The header names a dtype this module does not know, or the writer was asked for one it
    /// cannot produce.
    case unsupportedDType(path: String, name: String, dtype: String)
    /// The tensor exists but has another dtype than the accessor needs.
    case wrongDType(path: String, name: String, expected: String, found: String)
    /// The tensor exists but has another shape than the caller needs.
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    /// A buffer's element count does not match the tensor's.
    case elementCountMismatch(path: String, name: String, expected: Int, found: Int)
    /// A value does not fit the requested type (for example an I64 read as Int32).
    case valueOutOfRange(path: String, name: String, reason: String)
    /// Writing failed; the target was left as it was.
    case writeFailed(path: String, reason: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .cannotOpen(let path, _), .truncated(let path, _), .malformedHeader(let path, _),
             .missingTensor(let path, _), .unsupportedDType(let path, _, _),
             .wrongDType(let path, _, _, _), .shapeMismatch(let path, _, _, _),
             .elementCountMismatch(let path, _, _, _), .valueOutOfRange(let path, _, _),
             .writeFailed(let path, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open safetensors file '\(path)': \(reason)"
        case .truncated(let path, let reason):
            return "safetensors file '\(path)' is truncated: \(reason)"
        case .malformedHeader(let path, let reason):
            return "safetensors file '\(path)' has a malformed header: \(reason)"
        case .missingTensor(let path, let name):
            return "safetensors file '\(path)' has no tensor '\(name)'"
        case .unsupportedDType(let path, let name, let dtype):
            return "safetensors file '\(path)': tensor '\(name)' has unsupported dtype '\(dtype)'"
        case .wrongDType(let path, let name, let expected, let found):
            return "safetensors file '\(path)': tensor '\(name)' has dtype \(found), expected \(expected)"
        case .shapeMismatch(let path, let name, let expected, let found):
            return "safetensors file '\(path)': tensor '\(name)' has shape \(found), expected \(expected)"
        case .elementCountMismatch(let path, let name, let expected, let found):
            return "safetensors file '\(path)': tensor '\(name)' has \(expected) elements, but the buffer has \(found)"
        case .valueOutOfRange(let path, let name, let reason):
            return "safetensors file '\(path)': tensor '\(name)': \(reason)"
        case .writeFailed(let path, let reason):
            return "cannot write safetensors file '\(path)': \(reason)"
        }
    }
}
