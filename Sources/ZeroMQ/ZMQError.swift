import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by libzmq: the `errno` value and the call that failed.
///
/// `description` reads like `zmq_bind(tcp://127.0.0.1:5555): Address already in use`;
/// the message text comes from `zmq_strerror`, so libzmq's own codes (`ETERM`, `EFSM`, ...)
/// are spelled out too.
public struct ZMQError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The `errno` value (a POSIX code or one of libzmq's `ZMQ_HAUSNUMERO`-based codes).
    public let code: Int32
    /// The libzmq call that failed, with its argument where that helps, e.g. `zmq_bind(tcp://...)`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// The text `zmq_strerror` gives for `code`.
    public var message: String { String(cString: zmq_strerror(code)) }

    public var description: String { "\(operation): \(message)" }

    /// `EINTR`: a signal arrived during a blocking call. The wrapper retries these itself.
    public var isInterrupted: Bool { code == EINTR }
    /// `EAGAIN`: a non-blocking send could not queue the message (high-water mark reached,
    /// no peer yet with `ZMQ_IMMEDIATE`, or a `ZMQ_SNDTIMEO` expired).
    public var isAgain: Bool { code == EAGAIN }
    /// `ETERM`: the context was shut down (`ZMQContext.shutdown()`) or terminated.
    public var isTerminated: Bool { code == ETERM }
    /// `EHOSTUNREACH`: a ROUTER with `setRouterMandatory(true)` has no peer with that identity.
    public var isHostUnreachable: Bool { code == EHOSTUNREACH }
    /// `EADDRINUSE`: `bind` to an address another socket or process already holds.
    public var isAddressInUse: Bool { code == EADDRINUSE }

    /// The error libzmq just reported for `operation`. Call it before any other libzmq call.
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation())
    }
}
