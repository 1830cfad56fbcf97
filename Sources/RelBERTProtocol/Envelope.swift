import Foundation
import SwiftProtobuf
import ZeroMQ

/// One protocol message: the header, the method's protobuf body and raw tensor frames.
/// On the wire (see docs/protocol.md): `[identity] header body tensor...`.
public struct Envelope: Sendable {
    public var header: Relbert_V1_Header
    /// The serialized protobuf body (decode it with `body(as:)`).
    public var body: Data
    public var tensors: [ZMQFrame]

    public init(header: Relbert_V1_Header, body: Data = Data(), tensors: [ZMQFrame] = []) {
        self.header = header
        self.body = body
        self.tensors = tensors
    }

    /// A request (or one-way message) for `method` carrying `message`.
    public init(method: String, requestID: UInt64, message: some SwiftProtobuf.Message = Google_Protobuf_Empty(),
                tensors: [ZMQFrame] = [], deadline: Date? = nil) {
        var header = Relbert_V1_Header()
        header.version = ProtocolVersion.current
        header.method = method
        header.requestID = requestID
        header.deadlineUnixMs = deadline.map { UInt64(max(0, $0.timeIntervalSince1970 * 1000)) } ?? 0
        self.init(header: header, body: (try? message.serializedData()) ?? Data(), tensors: tensors)
    }

    /// The reply to `request` with status OK.
    public static func reply(to request: Relbert_V1_Header, message: some SwiftProtobuf.Message = Google_Protobuf_Empty(),
                             tensors: [ZMQFrame] = []) -> Envelope {
        var header = Relbert_V1_Header()
        header.version = ProtocolVersion.current
        header.method = request.method
        header.requestID = request.requestID
        header.isReply = true
        header.status = .ok
        return Envelope(header: header, body: (try? message.serializedData()) ?? Data(), tensors: tensors)
    }

    /// An error reply to `request` (or to an unreadable message: method "", request id 0).
    public static func error(to request: Relbert_V1_Header?, _ error: ProtocolError) -> Envelope {
        var header = Relbert_V1_Header()
        header.version = ProtocolVersion.current
        header.method = request?.method ?? ""
        header.requestID = request?.requestID ?? 0
        header.isReply = true
        header.status = error.status
        header.statusMessage = String(error.message.prefix(1024))
        return Envelope(header: header)
    }

    public var isOK: Bool { header.status == .ok }

    /// The status as an error when it is not OK.
    public var statusError: ProtocolError? {
        isOK ? nil : ProtocolError(header.status, header.statusMessage)
    }

    /// The body decoded as `type`; INVALID_ARGUMENT when it is not a valid message of that type.
    public func body<M: SwiftProtobuf.Message>(as type: M.Type) throws(ProtocolError) -> M {
        do {
            return try M(serializedBytes: body)
        } catch {
            throw ProtocolError(.invalidArgument, "\(header.method): the body is not a valid \(M.protoMessageName)")
        }
    }

    /// The frames to send (without a routing identity).
    public var frames: [ZMQFrame] {
        let headerData = (try? header.serializedData()) ?? Data()
        return [ZMQFrame(headerData), ZMQFrame(body)] + tensors
    }

    /// Parses frames received on a DEALER (no identity) after checking the limits.
    public static func parse(_ frames: [ZMQFrame], limits: MessageLimits = MessageLimits()) throws(ProtocolError) -> Envelope {
        guard frames.count >= 2 else {
            throw ProtocolError(.invalidArgument, "a message needs a header frame and a body frame, got \(frames.count) frame(s)")
        }
        guard frames.count - 2 <= limits.maxTensorFrames else {
            throw ProtocolError(.resourceExhausted, "\(frames.count - 2) tensor frames (at most \(limits.maxTensorFrames))")
        }
        guard frames[0].count <= limits.maxHeaderBytes else {
            throw ProtocolError(.resourceExhausted, "header frame of \(frames[0].count) bytes (at most \(limits.maxHeaderBytes))")
        }
        guard frames[1].count <= limits.maxBodyBytes else {
            throw ProtocolError(.resourceExhausted, "body frame of \(frames[1].count) bytes (at most \(limits.maxBodyBytes))")
        }
        let header: Relbert_V1_Header
        do {
            header = try Relbert_V1_Header(serializedBytes: frames[0].data)
        } catch {
            throw ProtocolError(.invalidArgument, "the first frame is not a relbert.v1.Header")
        }
        guard header.version == ProtocolVersion.current else {
            var error = ProtocolError(.failedPrecondition, "protocol version \(header.version); this peer speaks \(ProtocolVersion.current)")
            error.request = header
            throw error
        }
        guard !header.method.isEmpty || header.isReply, header.method.utf8.count <= 128 else {
            throw ProtocolError(.invalidArgument, "a request needs a method name of at most 128 bytes")
        }
        return Envelope(header: header, body: frames[1].data, tensors: Array(frames[2...]))
    }

    /// True once the deadline (if any) has passed.
    public var isPastDeadline: Bool {
        header.deadlineUnixMs != 0 && UInt64(Date().timeIntervalSince1970 * 1000) > header.deadlineUnixMs
    }
}

public enum ProtocolVersion {
    public static let current: UInt32 = 1
}

/// Bounds on what a peer accepts, checked before anything is decoded.
public struct MessageLimits: Sendable {
    public var maxHeaderBytes = 4096
    public var maxBodyBytes = 16 << 20
    public var maxTensorFrames = 16
    public init() {}
}

/// An error with a gRPC-style status code: what goes back to a peer in a reply header.
public struct ProtocolError: Error, CustomStringConvertible, Equatable, Sendable {
    public var status: Relbert_V1_StatusCode
    public var message: String
    /// The header of the request that failed, when it could be read (so the reply can echo it).
    public var request: Relbert_V1_Header?

    public init(_ status: Relbert_V1_StatusCode, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.name): \(message)" }

    public static func == (a: ProtocolError, b: ProtocolError) -> Bool { a.status == b.status && a.message == b.message }
}

extension Relbert_V1_StatusCode {
    /// The gRPC name, e.g. INVALID_ARGUMENT.
    public var name: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internal: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        case .UNRECOGNIZED(let value): return "STATUS_\(value)"
        }
    }
}

extension Envelope {
    /// A reply's body and tensors, before it is addressed to a request.
    public struct Parts: Sendable {
        public var body: Data
        public var tensors: [ZMQFrame]
        public init(message: some SwiftProtobuf.Message = Google_Protobuf_Empty(), tensors: [ZMQFrame] = []) {
            self.body = (try? message.serializedData()) ?? Data()
            self.tensors = tensors
        }
    }

    /// The OK reply to `request` carrying `parts`.
    public static func reply(to request: Relbert_V1_Header, _ parts: Parts) -> Envelope {
        var envelope = reply(to: request)
        envelope.body = parts.body
        envelope.tensors = parts.tensors
        return envelope
    }
}
