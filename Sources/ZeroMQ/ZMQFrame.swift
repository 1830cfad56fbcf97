import CZeroMQ

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One part of a multipart message: an immutable run of bytes with value semantics.
///
/// A frame holds its bytes in one of two ways:
/// - a Swift `[UInt8]` (`ZMQFrame(_: [UInt8])`, `ZMQFrame(_: String)`, small received frames):
///   sending copies the bytes once into a libzmq message;
/// - a fixed buffer the frame shares with libzmq (`ZMQFrame(count:initializingWith:)`,
///   `ZMQFrame(copying:)`, `ZMQFrame(_: Data)`, received frames of `zeroCopyThreshold`
///   bytes or more): sending and receiving do not copy; libzmq keeps the buffer alive until
///   it has written it to the wire, and a received frame can be forwarded as is.
///
/// So a tensor costs at most one copy on each side: build it with
/// `ZMQFrame(count:initializingWith:)` (no copy) or `ZMQFrame(copying:)` (one copy), and
/// read it with `withUnsafeBytes` (no copy). `bytes` and `data` always return a copy of a
/// shared buffer. Received buffers are only 8-byte aligned.
public struct ZMQFrame: Sendable {
    enum Storage: Sendable {
        case array([UInt8])
        case buffer(FrameBuffer)
    }

    var storage: Storage

    /// Frames at least this large are sent and received without copying (smaller ones are
    /// copied: cheaper than libzmq's per-message bookkeeping, and a small received message
    /// may share libzmq's 8 KiB read buffer, which a long-lived frame would pin).
    public static let zeroCopyThreshold = 32 * 1024

    /// A frame holding `bytes` (not copied until sent).
    public init(_ bytes: [UInt8]) {
        storage = .array(bytes)
    }

    /// A frame holding the UTF-8 bytes of `string` (no terminating NUL).
    public init(_ string: String) {
        storage = .array(Array(string.utf8))
    }

    /// A frame holding a copy of `data`; sending it does not copy again.
    public init(_ data: Data) {
        self.init(count: data.count) { destination in
            data.withUnsafeBytes { source in destination.copyMemory(from: source) }
        }
    }

    /// A frame holding a copy of `bytes`; sending it does not copy again.
    /// E.g. `floats.withUnsafeBytes { ZMQFrame(copying: $0) }`.
    public init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { destination in destination.copyMemory(from: bytes) }
    }

    /// A frame of `count` bytes written in place by `initializer` (which must set every
    /// byte; the buffer is uninitialised and 64-byte aligned). Sending it copies nothing.
    public init<E: Error>(
        count: Int,
        initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        precondition(count >= 0, "ZMQFrame: negative byte count")
        let buffer = FrameBuffer(allocating: count)
        try initializer(UnsafeMutableRawBufferPointer(start: buffer.mutableBase, count: count))
        storage = .buffer(buffer)
    }

    init(buffer: FrameBuffer) {
        storage = .buffer(buffer)
    }

    /// The number of bytes.
    public var count: Int {
        switch storage {
        case .array(let array): return array.count
        case .buffer(let buffer): return buffer.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// The bytes as an array (a copy when the frame shares a buffer with libzmq).
    /// Setting it replaces the frame's contents.
    public var bytes: [UInt8] {
        get {
            switch storage {
            case .array(let array): return array
            case .buffer(let buffer): return Array(buffer.rawBuffer)
            }
        }
        set { storage = .array(newValue) }
    }

    /// A copy of the bytes as `Data`.
    public var data: Data {
        withUnsafeBytes { Data($0) }
    }

    /// The bytes decoded as UTF-8, or nil if they are not valid UTF-8.
    public var string: String? {
        withUnsafeBytes { String(validating: $0, as: UTF8.self) }
    }

    /// Calls `body` with the frame's bytes, without copying. The pointer is valid only
    /// during the call.
    public func withUnsafeBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        switch storage {
        case .buffer(let buffer):
            return try withExtendedLifetime(buffer) { () throws(E) -> R in try body(buffer.rawBuffer) }
        case .array(let array):
            // Array.withUnsafeBytes is untyped `rethrows`; carry the typed error through a Result.
            let result: Result<R, E> = array.withUnsafeBytes { pointer in
                do throws(E) { return .success(try body(pointer)) } catch { return .failure(error) }
            }
            return try result.get()
        }
    }

    /// Initialises `message` (uninitialised storage) with this frame's bytes: by reference
    /// when the frame shares a large buffer, otherwise by copying. Returns zmq's rc.
    func initialize(_ message: UnsafeMutablePointer<zmq_msg_t>) -> Int32 {
        if case .buffer(let buffer) = storage, buffer.count >= ZMQFrame.zeroCopyThreshold {
            // libzmq calls the free function (from its I/O thread) once the last reference
            // to the message is gone; until then the retained buffer keeps the bytes alive.
            let hint = Unmanaged.passRetained(buffer).toOpaque()
            let rc = zmq_msg_init_data(
                message, buffer.mutableBase, buffer.count,
                { _, hint in
                    if let hint { Unmanaged<FrameBuffer>.fromOpaque(hint).release() }
                },
                hint)
            if rc != 0 { Unmanaged<FrameBuffer>.fromOpaque(hint).release() }
            return rc
        }
        let count = self.count
        let rc = zmq_msg_init_size(message, count)
        guard rc == 0, count > 0 else { return rc }
        withUnsafeBytes { source in
            _ = memcpy(zmq_msg_data(message), source.baseAddress!, count)
        }
        return 0
    }

    /// A frame for a message just received into `message`. Takes ownership of `message`:
    /// a large one becomes the frame's buffer, a small one is copied, closed and deallocated.
    static func taking(_ message: UnsafeMutablePointer<zmq_msg_t>) -> ZMQFrame {
        let count = zmq_msg_size(message)
        if count >= zeroCopyThreshold {
            return ZMQFrame(buffer: FrameBuffer(taking: message))
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { destination, initialized in
            if count > 0 { _ = memcpy(destination.baseAddress!, zmq_msg_data(message), count) }
            initialized = count
        }
        zmq_msg_close(message)
        message.deallocate()
        return ZMQFrame(bytes)
    }
}

extension ZMQFrame: Hashable {
    public static func == (lhs: ZMQFrame, rhs: ZMQFrame) -> Bool {
        lhs.withUnsafeBytes { a in
            rhs.withUnsafeBytes { b in
                a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension ZMQFrame: CustomStringConvertible {
    /// `ZMQFrame(5 bytes: "hello")`, or a hex prefix for binary frames.
    public var description: String {
        let count = self.count
        if count <= 64, let text = string, text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
            return "ZMQFrame(\(count) bytes: \"\(text)\")"
        }
        let hex = withUnsafeBytes { bytes in
            bytes.prefix(16).map { byte in
                let digits = String(byte, radix: 16)
                return byte < 16 ? "0" + digits : digits
            }.joined()
        }
        return "ZMQFrame(\(count) bytes: 0x\(hex)\(count > 16 ? "..." : ""))"
    }
}

/// Bytes a frame shares with libzmq: either memory the frame allocated or a received
/// `zmq_msg_t`. Never mutated after the frame's initializer returns.
final class FrameBuffer: @unchecked Sendable {
    let mutableBase: UnsafeMutableRawPointer?
    let count: Int
    private let message: UnsafeMutablePointer<zmq_msg_t>?

    init(allocating count: Int) {
        self.count = count
        self.message = nil
        self.mutableBase = count > 0 ? UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64) : nil
    }

    /// Takes ownership of a received, initialised message.
    init(taking message: UnsafeMutablePointer<zmq_msg_t>) {
        self.message = message
        self.count = zmq_msg_size(message)
        self.mutableBase = count > 0 ? zmq_msg_data(message) : nil
    }

    var rawBuffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mutableBase, count: count)
    }

    deinit {
        if let message {
            zmq_msg_close(message)
            message.deallocate()
        } else {
            mutableBase?.deallocate()
        }
    }
}
