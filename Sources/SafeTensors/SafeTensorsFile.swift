import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file, memory-mapped read-only and validated when opened.
///
/// Immutable after `init`, so it can be shared between threads. Tensor data is read straight
/// from the mapping; `rawBytes` views stay valid for as long as the object lives. (As with any
/// mapping, truncating the file on disk while it is mapped makes later reads fault.)
public final class SafeTensorsFile: @unchecked Sendable {
    public let url: URL
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Tensor names in file (data offset) order.
    public let tensorNames: [String]

    private let infos: [String: TensorInfo]
    /// The whole file, mapped (a valid file has at least 8 bytes, so the mapping is never empty).
    private let mapping: UnsafeRawPointer
    private let mappingSize: Int
    /// Offset of the data section inside the mapping (8 + header length).
    private let dataStart: Int
    private let path: String

    public init(contentsOf url: URL) throws(SafeTensorsError) {
        let path = url.path
        self.url = url
        self.path = path

        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError.cannotOpen(path: path, reason: Self.errnoString())
        }
        defer { close(fd) }

        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "fstat: \(Self.errnoString())")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "not a regular file")
        }
        guard let size = Int(exactly: status.st_size) else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "file size \(status.st_size) does not fit in Int")
        }
        guard size >= 8 else {
            throw SafeTensorsError.truncated(path: path, reason:
                "file has \(size) bytes, fewer than the 8-byte header length")
        }

        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "mmap: \(Self.errnoString())")
        }
        let base = UnsafeRawPointer(address)

        let header: HeaderParser.Header
        let dataStart: Int
        do throws(SafeTensorsError) {
            let length = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
            guard length <= UInt64(size - 8) else {
                throw SafeTensorsError.truncated(path: path, reason:
                    "header length \(length) exceeds the \(size - 8) bytes after the length field")
            }
            let headerLength = Int(length)
            dataStart = 8 + headerLength
            let headerBytes = UnsafeRawBufferPointer(start: base + 8, count: headerLength)
            header = try HeaderParser(path: path).parse(headerBytes, dataSize: size - dataStart)
        } catch {
            munmap(address, size)
            throw error
        }

        self.mapping = base
        self.mappingSize = size
        self.dataStart = dataStart
        self.metadata = header.metadata
        self.tensorNames = header.tensors.map(\.name)
        var infos: [String: TensorInfo] = [:]
        infos.reserveCapacity(header.tensors.count)
        for info in header.tensors { infos[info.name] = info }
        self.infos = infos
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: mapping), mappingSize)
    }

    // MARK: Lookup

    /// The header entry for `name`, or nil.
    public func info(_ name: String) -> TensorInfo? {
        infos[name]
    }

    /// The header entry for `name`, or `missingTensor`.
    public func requireInfo(_ name: String) throws(SafeTensorsError) -> TensorInfo {
        guard let info = infos[name] else {
            throw SafeTensorsError.missingTensor(path: path, name: name)
        }
        return info
    }

    /// The tensor's bytes, a view into the mapping (valid while `self` lives). Any alignment.
    public func rawBytes(_ name: String) throws(SafeTensorsError) -> UnsafeRawBufferPointer {
        rawBytes(of: try requireInfo(name))
    }

    private func rawBytes(of info: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mapping + dataStart + info.dataOffsets.lowerBound,
                               count: info.byteCount)
    }

    // MARK: Floats

    /// Decodes an F32, F16, BF16 or F64 tensor into `destination`, whose count must equal the
    /// tensor's element count. F16 and BF16 widen exactly; F64 rounds to nearest.
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws(SafeTensorsError) {
        let info = try requireInfo(name)
        guard info.dtype.isFloatingPoint else {
            throw SafeTensorsError.wrongDType(path: path, name: name,
                                              expected: "F32, F16, BF16 or F64", found: info.dtype.rawValue)
        }
        let count = info.elementCount
        guard destination.count == count else {
            throw SafeTensorsError.elementCountMismatch(path: path, name: name,
                                                        expected: count, found: destination.count)
        }
        guard count > 0, let dst = destination.baseAddress else { return }
        let bytes = rawBytes(of: info)
        guard let src = bytes.baseAddress else { return }
        switch info.dtype {
        case .F32:
            // Little-endian host (x86_64, arm64): a plain copy, at any source alignment.
            memcpy(dst, src, count &* 4)
        case .F16:
            FloatConversion.decodeF16(src, dst, count)
        case .BF16:
            FloatConversion.decodeBF16(src, dst, count)
        case .F64:
            for i in 0..<count {
                let bits = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
                dst[i] = Float(Double(bitPattern: bits))
            }
        case .I64, .I32, .I16, .I8, .U8, .BOOL:
            break  // excluded above
        }
    }

    /// The tensor as `[Float]` (see `readFloats`).
    public func floats(_ name: String) throws(SafeTensorsError) -> [Float] {
        let info = try requireInfo(name)
        return try floats(info)
    }

    /// The tensor as `[Float]`, after checking that its shape is `shape` (`shapeMismatch` if not).
    public func floats(_ name: String, shape: [Int]) throws(SafeTensorsError) -> [Float] {
        let info = try requireInfo(name)
        guard info.shape == shape else {
            throw SafeTensorsError.shapeMismatch(path: path, name: name, expected: shape, found: info.shape)
        }
        return try floats(info)
    }

    private func floats(_ info: TensorInfo) throws(SafeTensorsError) -> [Float] {
        guard info.dtype.isFloatingPoint else {
            throw SafeTensorsError.wrongDType(path: path, name: info.name,
                                              expected: "F32, F16, BF16 or F64", found: info.dtype.rawValue)
        }
        let count = info.elementCount
        var failure: SafeTensorsError?
        let result = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(SafeTensorsError) {
                try readFloats(info.name, into: buffer)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return result
    }

    // MARK: Integers

    /// An I32 tensor, or an I64 tensor whose values all fit in `Int32` (`valueOutOfRange` if not).
    public func int32s(_ name: String) throws(SafeTensorsError) -> [Int32] {
        let info = try requireInfo(name)
        let count = info.elementCount
        let bytes = rawBytes(of: info)
        switch info.dtype {
        case .I32:
            return [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0, let dst = buffer.baseAddress, let src = bytes.baseAddress {
                    memcpy(dst, src, count &* 4)
                }
                initialized = count
            }
        case .I64:
            var bad: (index: Int, value: Int64)?
            let result = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
                initialized = 0
                guard count > 0, let dst = buffer.baseAddress, let src = bytes.baseAddress else { return }
                for i in 0..<count {
                    let value = Int64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: Int64.self))
                    guard let narrow = Int32(exactly: value) else {
                        bad = (i, value)
                        return
                    }
                    dst[i] = narrow
                    initialized = i &+ 1
                }
            }
            if let bad {
                throw SafeTensorsError.valueOutOfRange(path: path, name: name, reason:
                    "I64 value \(bad.value) at flat index \(bad.index) does not fit in Int32")
            }
            return result
        case .F64, .F32, .F16, .BF16, .I16, .I8, .U8, .BOOL:
            throw SafeTensorsError.wrongDType(path: path, name: name, expected: "I32 or I64",
                                              found: info.dtype.rawValue)
        }
    }

    // MARK: Helpers

    static func errnoString(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}
