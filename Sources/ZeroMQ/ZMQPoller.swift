import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Events a `ZMQPoller` waits for.
public struct PollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// A whole message can be received without blocking (`ZMQ_POLLIN`).
    public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking (`ZMQ_POLLOUT`).
    public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// Waits on several sockets at once (`zmq_poll`). Holds its sockets strongly; they must
/// stay open and, like every socket use, be polled from one thread at a time.
public struct ZMQPoller {
    private var sockets: [ZMQSocket] = []
    private var events: [PollEvents] = []

    public init() {}

    /// The number of registered sockets.
    public var count: Int { sockets.count }

    /// Registers `socket`; returns its index (0, 1, ... in order of registration).
    @discardableResult
    public mutating func add(_ socket: ZMQSocket, events: PollEvents = .readable) -> Int {
        sockets.append(socket)
        self.events.append(events)
        return sockets.count - 1
    }

    public func socket(at index: Int) -> ZMQSocket { sockets[index] }

    /// Waits until at least one socket has one of its requested events, or until the
    /// timeout (negative = forever). Returns the indices of the sockets that are ready
    /// (for sockets registered with `.readable`: those with a message to receive); empty
    /// on timeout. `EINTR` is retried with the remaining time.
    public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [Int] {
        try pollEvents(timeoutMilliseconds: timeoutMilliseconds).map(\.index)
    }

    /// Like `poll`, with the events that are ready for each socket.
    public func pollEvents(timeoutMilliseconds: Int) throws(ZMQError) -> [(index: Int, events: PollEvents)] {
        var items: [zmq_pollitem_t] = []
        items.reserveCapacity(sockets.count)
        for (socket, events) in zip(sockets, events) {
            // A closed socket must not reach zmq_poll: a NULL socket means "poll fd 0".
            let handle = try socket.liveHandle("zmq_poll")
            items.append(zmq_pollitem_t(socket: handle, fd: 0, events: events.rawValue, revents: 0))
        }
        let deadline = timeoutMilliseconds >= 0 ? ContinuousClock.now + .milliseconds(timeoutMilliseconds) : nil
        while true {
            let timeout = deadline.map { milliseconds(until: $0) } ?? -1
            let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeout) }
            if rc > 0 {
                return items.enumerated().compactMap { index, item in
                    let ready = PollEvents(rawValue: item.revents).intersection(events[index])
                    return ready.isEmpty ? nil : (index, ready)
                }
            }
            if rc == 0 {
                if let deadline, ContinuousClock.now < deadline { continue }
                return []
            }
            let error = ZMQError.last("zmq_poll")
            guard error.isInterrupted else { throw error }
        }
    }
}
