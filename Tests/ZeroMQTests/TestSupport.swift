import XCTest
@testable import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

extension [UInt8] {
    init(_ text: String) { self = Array(text.utf8) }
}

/// Seconds `body` took.
func elapsedSeconds<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let value = try body()
    let duration = start.duration(to: ContinuousClock.now)
    return (value, Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18)
}

/// A ROUTER bound to an ephemeral loopback TCP port, and its resolved endpoint.
func boundRouter(_ context: ZMQContext, configure: (ZMQSocket) throws -> Void = { _ in }) throws -> (ZMQSocket, String) {
    let router = try ZMQSocket(context: context, type: .router)
    try configure(router)
    try router.bind("tcp://127.0.0.1:*")
    let endpoint = try XCTUnwrap(router.lastEndpoint)
    return (router, endpoint)
}

/// A DEALER with `identity` connected to `endpoint`.
func connectedDealer(_ context: ZMQContext, to endpoint: String, identity: String? = nil) throws -> ZMQSocket {
    let dealer = try ZMQSocket(context: context, type: .dealer)
    if let identity { try dealer.setIdentity([UInt8](identity)) }
    try dealer.connect(endpoint)
    return dealer
}

/// Runs `body` and returns the ZMQError it throws (failing the test if it throws none or another).
func zmqError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> ZMQError? {
    do {
        try body()
        XCTFail("expected a ZMQError", file: file, line: line)
    } catch let error as ZMQError {
        return error
    } catch {
        XCTFail("expected a ZMQError, got \(error)", file: file, line: line)
    }
    return nil
}

/// `count` pseudo-random bytes written in place (xorshift64), for large-frame tests.
func pseudoRandomFrame(count: Int, seed: UInt64) -> ZMQFrame {
    ZMQFrame(count: count) { buffer in
        var state = seed | 1
        let words = count / 8
        let wordBuffer = UnsafeMutableBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt64.self), count: words)
        for index in 0..<words {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            wordBuffer[index] = state
        }
        for index in (words * 8)..<count { buffer[index] = UInt8(truncatingIfNeeded: index) }
    }
}

/// A loopback TCP port that is free right now (bound and closed synchronously with plain
/// POSIX calls: a libzmq listener closes asynchronously and could still accept a connection).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(errno) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
            bind(fd, sockaddrPointer, length) == 0 ? getsockname(fd, sockaddrPointer, &length) : -1
        }
    }
    guard rc == 0 else { throw POSIXError(errno) }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct POSIXError: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}
