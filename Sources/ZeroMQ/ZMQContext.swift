import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzmq context: the I/O threads and the registry of `inproc://` endpoints.
///
/// Thread-safe (libzmq contexts are). Every `ZMQSocket` keeps its context alive, so the
/// context is terminated (`zmq_ctx_term`, in `deinit`) only after all its sockets were
/// closed or released; termination then waits at most for the sockets' linger periods,
/// which `ZMQSocket` sets to 0 unless told otherwise.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// - Parameter ioThreads: libzmq I/O threads (`ZMQ_IO_THREADS`). 1 is plenty for a few
    ///   hundred MB/s; 0 is only valid when every socket uses `inproc://`.
    public init(ioThreads: Int = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        guard let threads = Int32(exactly: ioThreads), zmq_ctx_set(handle, ZMQ_IO_THREADS, threads) == 0 else {
            let error = ioThreads < 0 || Int32(exactly: ioThreads) == nil
                ? ZMQError(code: EINVAL, operation: "zmq_ctx_set(ZMQ_IO_THREADS, \(ioThreads))")
                : ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS, \(ioThreads))")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
    }

    /// Makes every blocking call on this context's sockets (now and later) fail with
    /// `ETERM` (`ZMQError.isTerminated`), e.g. to stop a thread blocked in `receive()`.
    /// The sockets must still be closed; the context is terminated when it is released.
    /// Safe to call from any thread, more than once.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
