import Foundation

/// Parses and validates the JSON header of a safetensors file.
///
/// Checks: UTF-8; a JSON object; `__metadata__`, if present, maps strings to strings; every
/// other entry is an object with a known `dtype`, a `shape` of non-negative integers and
/// `data_offsets` of two integers `begin <= end <= dataSize`; `end - begin` equals
/// `product(shape) * dtype.byteSize` (with overflow checks); no two non-empty tensors overlap.
/// Gaps between tensors are tolerated (the reference implementation writes none).
struct HeaderParser {
    struct Header {
        var metadata: [String: String]
        /// Sorted by data offset (then by end, then by name).
        var tensors: [TensorInfo]
    }

    static let metadataKey = "__metadata__"

    let path: String

    func parse(_ headerBytes: UnsafeRawBufferPointer, dataSize: Int) throws(SafeTensorsError) -> Header {
        guard Self.isValidUTF8(headerBytes) else {
            throw malformed("header is not valid UTF-8")
        }
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        guard let first = headerBytes.first(where: { !space.contains($0) }) else {
            throw malformed("header is empty")
        }
        guard first == UInt8(ascii: "{") else {
            throw malformed("header does not start with '{'")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw malformed("header is not valid JSON (\(error.localizedDescription))")
        }
        guard let entries = object as? [String: Any] else {
            throw malformed("header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(entries.count)
        for (name, value) in entries {
            if name == Self.metadataKey {
                metadata = try parseMetadata(value)
            } else {
                tensors.append(try parseTensor(name: name, value, dataSize: dataSize))
            }
        }

        tensors.sort { a, b in
            if a.dataOffsets.lowerBound != b.dataOffsets.lowerBound {
                return a.dataOffsets.lowerBound < b.dataOffsets.lowerBound
            }
            if a.dataOffsets.upperBound != b.dataOffsets.upperBound {
                return a.dataOffsets.upperBound < b.dataOffsets.upperBound
            }
            return a.name < b.name
        }
        var previous: TensorInfo?
        for tensor in tensors where !tensor.dataOffsets.isEmpty {
            if let previous, tensor.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
                throw malformed("tensors '\(previous.name)' \(describe(previous.dataOffsets)) and "
                    + "'\(tensor.name)' \(describe(tensor.dataOffsets)) overlap")
            }
            previous = tensor
        }
        return Header(metadata: metadata, tensors: tensors)
    }

    // MARK: Entries

    private func parseMetadata(_ value: Any) throws(SafeTensorsError) -> [String: String] {
        guard let object = value as? [String: Any] else {
            throw malformed("'\(Self.metadataKey)' is not a JSON object")
        }
        var metadata: [String: String] = [:]
        for (key, item) in object {
            guard let string = item as? String else {
                throw malformed("'\(Self.metadataKey)' value for key '\(key)' is not a string")
            }
            metadata[key] = string
        }
        return metadata
    }

    private func parseTensor(name: String, _ value: Any, dataSize: Int) throws(SafeTensorsError) -> TensorInfo {
        guard let entry = value as? [String: Any] else {
            throw malformed("entry for tensor '\(name)' is not a JSON object")
        }
        guard let dtypeString = entry["dtype"] as? String else {
            throw malformed("tensor '\(name)' has no string 'dtype'")
        }
        guard let dtype = DType(rawValue: dtypeString) else {
            throw SafeTensorsError.unsupportedDType(path: path, name: name, dtype: dtypeString)
        }
        guard let shapeArray = entry["shape"] as? [Any] else {
            throw malformed("tensor '\(name)' has no array 'shape'")
        }
        var shape: [Int] = []
        shape.reserveCapacity(shapeArray.count)
        for item in shapeArray {
            guard let dimension = Self.integer(item) else {
                throw malformed("tensor '\(name)' has a non-integer in 'shape'")
            }
            guard dimension >= 0 else {
                throw malformed("tensor '\(name)' has a negative dimension \(dimension) in 'shape'")
            }
            shape.append(dimension)
        }
        guard let offsetArray = entry["data_offsets"] as? [Any], offsetArray.count == 2 else {
            throw malformed("tensor '\(name)' has no 'data_offsets' array of two integers")
        }
        guard let begin = Self.integer(offsetArray[0]), let end = Self.integer(offsetArray[1]) else {
            throw malformed("tensor '\(name)' has a non-integer in 'data_offsets'")
        }
        guard begin >= 0, end >= 0 else {
            throw malformed("tensor '\(name)' has negative 'data_offsets' [\(begin), \(end)]")
        }
        guard begin <= end else {
            throw malformed("tensor '\(name)' has 'data_offsets' [\(begin), \(end)] with begin > end")
        }
        guard end <= dataSize else {
            throw SafeTensorsError.truncated(path: path, reason:
                "tensor '\(name)' has 'data_offsets' [\(begin), \(end)] past the end of the "
                + "\(dataSize)-byte data section")
        }
        var elements = 1
        for dimension in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw malformed("tensor '\(name)' shape \(shape) overflows") }
            elements = product
        }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw malformed("tensor '\(name)' shape \(shape) overflows") }
        guard end - begin == byteCount else {
            throw malformed("tensor '\(name)' has \(end - begin) bytes in 'data_offsets' [\(begin), \(end)], "
                + "but \(dtype.rawValue) \(shape) needs \(byteCount)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    // MARK: Helpers

    /// A JSON integer as `Int`; nil for booleans, fractions, floating-point spellings (`1.0`,
    /// `1e3`), strings, and integers beyond `Int.max`.
    static func integer(_ value: Any) -> Int? {
        // JSONSerialization hands out NSNumber; booleans are NSNumbers of type "c" and
        // anything written with a fraction or exponent is a double ("d").
        guard let number = value as? NSNumber else { return nil }
        let type = String(cString: number.objCType)
        switch type {
        case "s", "i", "l", "q":
            return Int(exactly: number.int64Value)
        case "S", "I", "L", "Q":
            return Int(exactly: number.uint64Value)
        default:
            return nil
        }
    }

    /// Strict UTF-8 validation (no overlongs, surrogates or truncated sequences).
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    private func describe(_ range: Range<Int>) -> String {
        "[\(range.lowerBound), \(range.upperBound))"
    }

    private func malformed(_ reason: String) -> SafeTensorsError {
        .malformedHeader(path: path, reason: reason)
    }
}
