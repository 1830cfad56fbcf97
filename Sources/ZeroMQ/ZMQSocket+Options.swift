import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Socket options. Most take effect for connections made or accepted after the call,
/// so set them before `bind`/`connect`.
extension ZMQSocket {
    /// `ZMQ_LINGER`: how long `close()` keeps unsent messages around (-1 = forever,
    /// which also makes context termination wait forever). This wrapper's default is 0.
    public func setLinger(milliseconds: Int) throws(ZMQError) {
        try setOption(ZMQ_LINGER, int: milliseconds, name: "ZMQ_LINGER")
    }

    /// `ZMQ_ROUTING_ID` (formerly `ZMQ_IDENTITY`): the identity a ROUTER peer sees for this
    /// socket. 1...255 bytes, must not start with a zero byte (reserved for the identities
    /// a ROUTER generates). Set before `connect`.
    public func setIdentity(_ identity: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_ROUTING_ID, bytes: identity, name: "ZMQ_ROUTING_ID")
    }

    /// `ZMQ_SNDHWM`: messages queued per peer before sending blocks (DEALER, REQ, PUSH) or
    /// drops (ROUTER, PUB). 0 = unlimited; libzmq's default is 1000.
    public func setSendHighWaterMark(_ messages: Int) throws(ZMQError) {
        try setOption(ZMQ_SNDHWM, int: messages, name: "ZMQ_SNDHWM")
    }

    /// `ZMQ_RCVHWM`: messages queued per peer on the receiving side. 0 = unlimited;
    /// default 1000.
    public func setReceiveHighWaterMark(_ messages: Int) throws(ZMQError) {
        try setOption(ZMQ_RCVHWM, int: messages, name: "ZMQ_RCVHWM")
    }

    /// `ZMQ_MAXMSGSIZE`: a peer sending a **frame** larger than `bytes` is disconnected
    /// (the frame and the rest of that connection's input are dropped). The limit applies
    /// to each frame, not to a whole multipart message. -1 = unlimited (the default).
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        try setOption(ZMQ_MAXMSGSIZE, int64: bytes, name: "ZMQ_MAXMSGSIZE")
    }

    /// `ZMQ_ROUTER_MANDATORY` (ROUTER): sending to an unknown identity throws
    /// `EHOSTUNREACH` instead of dropping the message silently, and sending to a peer whose
    /// queue is full blocks / throws `EAGAIN` instead of dropping.
    public func setRouterMandatory(_ enabled: Bool) throws(ZMQError) {
        try setOption(ZMQ_ROUTER_MANDATORY, int: enabled ? 1 : 0, name: "ZMQ_ROUTER_MANDATORY")
    }

    /// `ZMQ_ROUTER_HANDOVER` (ROUTER): a new connection with an identity already in use
    /// takes the identity over (the old connection is dropped). Without it, libzmq keeps the
    /// old connection and the newcomer's messages are not delivered.
    public func setRouterHandover(_ enabled: Bool) throws(ZMQError) {
        try setOption(ZMQ_ROUTER_HANDOVER, int: enabled ? 1 : 0, name: "ZMQ_ROUTER_HANDOVER")
    }

    /// ZMTP heartbeats (tcp and ipc only, both peers must speak ZMTP 3.1, i.e. libzmq >= 4.2):
    /// - `intervalMilliseconds` (`ZMQ_HEARTBEAT_IVL`): send a PING after this long; 0 = off.
    /// - `timeoutMilliseconds` (`ZMQ_HEARTBEAT_TIMEOUT`): drop the connection if nothing
    ///   arrives this long after a PING; nil = libzmq's default (the interval).
    /// - `ttlMilliseconds` (`ZMQ_HEARTBEAT_TTL`): asks the *peer* to drop the connection if
    ///   it hears nothing from us for this long (decisecond resolution, at most 6553599);
    ///   nil = leave it unset.
    /// PINGs are answered by libzmq's I/O thread, so they show that the peer *process* is
    /// alive and reachable, not that its application thread makes progress.
    public func setHeartbeat(intervalMilliseconds: Int, timeoutMilliseconds: Int? = nil, ttlMilliseconds: Int? = nil) throws(ZMQError) {
        try setOption(ZMQ_HEARTBEAT_IVL, int: intervalMilliseconds, name: "ZMQ_HEARTBEAT_IVL")
        if let timeoutMilliseconds {
            try setOption(ZMQ_HEARTBEAT_TIMEOUT, int: timeoutMilliseconds, name: "ZMQ_HEARTBEAT_TIMEOUT")
        }
        if let ttlMilliseconds {
            try setOption(ZMQ_HEARTBEAT_TTL, int: ttlMilliseconds, name: "ZMQ_HEARTBEAT_TTL")
        }
    }

    /// `ZMQ_RECONNECT_IVL` / `ZMQ_RECONNECT_IVL_MAX`: wait `milliseconds` before reconnecting
    /// (default 100; -1 = never reconnect); with `maxMilliseconds` > `milliseconds` the wait
    /// doubles after each failed attempt up to that bound (0 = no back-off, the default).
    public func setReconnectInterval(milliseconds: Int, maxMilliseconds: Int = 0) throws(ZMQError) {
        try setOption(ZMQ_RECONNECT_IVL, int: milliseconds, name: "ZMQ_RECONNECT_IVL")
        try setOption(ZMQ_RECONNECT_IVL_MAX, int: maxMilliseconds, name: "ZMQ_RECONNECT_IVL_MAX")
    }

    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections. With it, a DEALER
    /// with no live peer blocks (or throws `EAGAIN` with `dontWait`) instead of queueing
    /// for a peer that may never come back — what a Lazy-Pirate client wants.
    public func setImmediate(_ enabled: Bool) throws(ZMQError) {
        try setOption(ZMQ_IMMEDIATE, int: enabled ? 1 : 0, name: "ZMQ_IMMEDIATE")
    }

    /// `ZMQ_SNDTIMEO`: a blocking `send` throws `EAGAIN` after this long (-1 = wait forever,
    /// the default).
    public func setSendTimeout(milliseconds: Int) throws(ZMQError) {
        try setOption(ZMQ_SNDTIMEO, int: milliseconds, name: "ZMQ_SNDTIMEO")
    }

    /// `ZMQ_SUBSCRIBE` (SUB): receive messages whose first frame starts with `prefix`
    /// (empty = everything).
    public func subscribe(_ prefix: [UInt8] = []) throws(ZMQError) {
        try setOption(ZMQ_SUBSCRIBE, bytes: prefix, name: "ZMQ_SUBSCRIBE")
    }

    /// `ZMQ_UNSUBSCRIBE` (SUB).
    public func unsubscribe(_ prefix: [UInt8] = []) throws(ZMQError) {
        try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix, name: "ZMQ_UNSUBSCRIBE")
    }

    // MARK: - Reading options back

    /// An `int` option (`ZMQ_LINGER`, `ZMQ_SNDHWM`, `ZMQ_HEARTBEAT_IVL`, ...).
    func intOption(_ option: Int32) throws(ZMQError) -> Int {
        let handle = try liveHandle("zmq_getsockopt(\(option))")
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option, &value, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(option))")
        }
        return Int(value)
    }

    /// An `int64_t` option (`ZMQ_MAXMSGSIZE`).
    func int64Option(_ option: Int32) throws(ZMQError) -> Int64 {
        let handle = try liveHandle("zmq_getsockopt(\(option))")
        var value: Int64 = 0
        var size = MemoryLayout<Int64>.size
        guard zmq_getsockopt(handle, option, &value, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(option))")
        }
        return value
    }

    // MARK: - Helpers

    func setOption(_ option: Int32, int value: Int, name: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_setsockopt(\(name))")
        try ZMQSocket.setOption(handle, option, int: value, name: name)
    }

    static func setOption(_ handle: UnsafeMutableRawPointer, _ option: Int32, int value: Int, name: String) throws(ZMQError) {
        guard var value32 = Int32(exactly: value) else {
            throw ZMQError(code: EINVAL, operation: "zmq_setsockopt(\(name), \(value))")
        }
        guard zmq_setsockopt(handle, option, &value32, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(name), \(value))")
        }
    }

    func setOption(_ option: Int32, int64 value: Int64, name: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_setsockopt(\(name))")
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(name), \(value))")
        }
    }

    func setOption(_ option: Int32, bytes: [UInt8], name: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_setsockopt(\(name))")
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("zmq_setsockopt(\(name), \(bytes.count) bytes)") }
    }
}
