import Foundation
import RelBERT
import RelBERTProtocol
import SwiftProtobuf
import ZeroMQ

/// A client of the coordinator (the CLI's submit, jobs, status, cancel, fetch): a DEALER socket,
/// one request at a time, with a deadline, retried on a fresh socket when no reply comes (the Lazy
/// Pirate pattern; request ids tell a late reply from the current one).
public final class ClusterClient {
    public let endpoint: String
    public var timeout: Duration = .seconds(10)
    public var retries = 3
    /// CURVE keys, when the coordinator requires them.
    public var curve: CurveClientKeys?
    private let context: ZMQContext
    private var socket: ZMQSocket?
    private var nextRequestID = UInt64.random(in: 1 ... (1 << 40))

    public init(endpoint: String) throws {
        self.endpoint = endpoint
        context = try ZMQContext()
    }

    /// Sends `message` as `method` and returns the OK reply; a status other than OK is thrown.
    public func call(_ method: String, _ message: some SwiftProtobuf.Message) throws -> Envelope {
        var lastError = ProtocolError(.unavailable, "no reply from the coordinator at \(endpoint)")
        for _ in 0 ... retries {
            let socket = try openSocket()
            let id = nextRequestID
            nextRequestID += 1
            let deadline = Date().addingTimeInterval(timeout.secondsValue)
            try socket.send(frames: Envelope(method: method, requestID: id, message: message, deadline: deadline).frames)
            let until = ContinuousClock.now + timeout
            while ContinuousClock.now < until {
                let left = Int(((until - ContinuousClock.now).secondsValue * 1000).rounded(.up))
                guard let frames = try socket.receive(timeoutMilliseconds: max(1, left)) else { break }
                guard let reply = try? Envelope.parse(frames, limits: Self.limits), reply.header.requestID == id || reply.header.requestID == 0 else {
                    continue  // a late reply to an earlier try
                }
                if let error = reply.statusError { throw error }
                return reply
            }
            lastError = ProtocolError(.unavailable, "no reply from the coordinator at \(endpoint) within \(timeout)"
                + (curve == nil ? "" : " (with CURVE: is this key authorized, and is --server-key the coordinator's?)"))
            self.socket?.close()
            self.socket = nil
        }
        throw lastError
    }

    private func openSocket() throws -> ZMQSocket {
        if let socket { return socket }
        let socket = try ZMQSocket(context: context, type: .dealer)
        if let curve { try socket.setCurveClient(curve.keys, serverKey: curve.serverKey) }
        try socket.setMaxMessageSize(4 << 30)
        try socket.connect(endpoint)
        self.socket = socket
        return socket
    }

    static var limits: MessageLimits {
        var limits = MessageLimits()
        limits.maxTensorFrames = 32
        return limits
    }
}
