import CZeroMQ
import Foundation

/// A CURVE key pair, both keys in Z85 text (40 characters each).
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) throws(ZMQError) {
        guard CurveKeyPair.isValidKey(publicKey), CurveKeyPair.isValidKey(secretKey) else {
            throw ZMQError(code: EINVAL, operation: "CURVE keys must be 40 Z85 characters")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A new random key pair (`zmq_curve_keypair`); needs libzmq built with CURVE.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return try CurveKeyPair(publicKey: String(cString: publicKey), secretKey: String(cString: secretKey))
    }

    static let z85 = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")

    public static func isValidKey(_ key: String) -> Bool {
        key.count == 40 && key.allSatisfy { z85.contains($0) }
    }

    /// The Z85 text of a 32-byte binary key (as ZAP delivers it).
    public static func z85Encode(_ binary: [UInt8]) -> String? {
        guard binary.count == 32 else { return nil }
        var out = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&out, binary, 32) != nil else { return nil }
        return String(cString: out)
    }
}

extension ZMQSocket {
    /// Makes this socket a CURVE server with `keys` (set before `bind`). Clients are then
    /// checked by the ZAP handler of the context, if one runs (see `ZAPAuthenticator`).
    public func setCurveServer(_ keys: CurveKeyPair) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVER, int: 1, name: "ZMQ_CURVE_SERVER")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8), name: "ZMQ_CURVE_SECRETKEY")
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array("relbert".utf8), name: "ZMQ_ZAP_DOMAIN")
    }

    /// Makes this socket a CURVE client of the server with public key `serverKey` (set before `connect`).
    public func setCurveClient(_ keys: CurveKeyPair, serverKey: String) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8), name: "ZMQ_CURVE_SERVERKEY")
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keys.publicKey.utf8), name: "ZMQ_CURVE_PUBLICKEY")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8), name: "ZMQ_CURVE_SECRETKEY")
    }
}

/// A ZAP handler (RFC 27) on its own thread: accepts CURVE clients whose public key is listed and
/// refuses every other, so a socket with `setCurveServer` talks only to known peers.
public final class ZAPAuthenticator: @unchecked Sendable {
    private let context: ZMQContext
    private let allowed: Set<String>
    private let log: @Sendable (String) -> Void
    private let thread: Thread
    private let started = DispatchSemaphore(value: 0)

    /// Starts the handler on `context`; call it before binding the server socket.
    public init(context: ZMQContext, allowedPublicKeys: Set<String>, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.context = context
        self.allowed = allowedPublicKeys
        self.log = log
        let socket = try ZMQSocket(context: context, type: .rep)
        try socket.bind("inproc://zeromq.zap.01")
        let allowed = allowedPublicKeys
        thread = Thread {
            while true {
                guard let request = try? socket.receive(timeoutMilliseconds: nil) else { return }  // context shut down
                let frames = request.map(\.bytes)
                guard frames.count >= 6 else { continue }
                let requestID = frames[1]
                let mechanism = String(decoding: frames[5], as: UTF8.self)
                var accepted = false
                var key = "?"
                if mechanism == "CURVE", frames.count >= 7, let z85 = CurveKeyPair.z85Encode(frames[6]) {
                    key = z85
                    accepted = allowed.contains(z85)
                }
                if !accepted { log("refused a \(mechanism) connection from \(String(decoding: frames[3], as: UTF8.self)) with key \(key)") }
                let reply: [[UInt8]] = [Array("1.0".utf8), requestID, Array((accepted ? "200" : "400").utf8),
                                        Array((accepted ? "OK" : "unknown key").utf8), Array((accepted ? key : "").utf8), []]
                try? socket.send(reply)
            }
        }
        thread.start()
    }
}
