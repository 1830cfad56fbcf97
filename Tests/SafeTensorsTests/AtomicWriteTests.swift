import Foundation
import XCTest
@testable import SafeTensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class AtomicWriteTests: XCTestCase {

    private func sampleWriter(value: Float = 1, count: Int = 1000) throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter()
        writer.metadata = ["version": "\(value)"]
        try writer.add("w", shape: [count], floats: [Float](repeating: value, count: count))
        writer.add("ids", shape: [2], int32s: [1, 2])
        return writer
    }

    func testMissingDirectoryThrowsAndLeavesNothing() throws {
        let scratch = try makeScratchDirectory(self)
        let url = scratch.appendingPathComponent("no/such/dir/model.safetensors")
        let error = expectError { try sampleWriter().write(to: url) }
        guard case .writeFailed(let path, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(path, url.path)
        XCTAssertTrue(reason.contains("No such file or directory"), reason)
        XCTAssertTrue(error?.description.contains(url.path) ?? false)
        XCTAssertEqual(try directoryEntries(scratch), [])
    }

    func testExistingTargetIsReplacedWhole() throws {
        let scratch = try makeScratchDirectory(self)
        let url = scratch.appendingPathComponent("model.safetensors")
        // A bigger old file: the new one must not keep any of its tail.
        try sampleWriter(value: 1, count: 5000).write(to: url)
        let oldSize = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)

        // Keep the old file open: it must stay readable and unchanged (rename, not overwrite).
        let old = try SafeTensorsFile(contentsOf: url)

        try sampleWriter(value: 2, count: 10).write(to: url)
        let newSize = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        XCTAssertLessThan(newSize, oldSize)

        let new = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(new.metadata, ["version": "2.0"])
        XCTAssertEqual(try new.floats("w"), [Float](repeating: 2, count: 10))
        XCTAssertEqual(try new.int32s("ids"), [1, 2])

        XCTAssertEqual(old.metadata, ["version": "1.0"])
        XCTAssertEqual(try old.floats("w"), [Float](repeating: 1, count: 5000))

        XCTAssertEqual(try directoryEntries(scratch), ["model.safetensors"])
    }

    func testTargetThatIsADirectoryFailsCleanly() throws {
        let scratch = try makeScratchDirectory(self)
        let target = scratch.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: target.appendingPathComponent("inside"))

        let error = expectError { try sampleWriter().write(to: target) }
        guard case .writeFailed(let path, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(path, target.path)
        XCTAssertTrue(reason.hasPrefix("rename to target: "), reason)
        XCTAssertEqual(try directoryEntries(scratch), ["occupied"])           // no temporary file left
        XCTAssertEqual(try directoryEntries(target), ["inside"])
    }

    /// Short writes and EINTR are retried until everything is written.
    func testShortWritesAndEINTRAreRetried() throws {
        let scratch = try makeScratchDirectory(self)
        let url = scratch.appendingPathComponent("slow.safetensors")
        let counter = CallCounter()
        let calls = AtomicFile.SystemCalls(
            write: { fd, buffer, count in
                let call = counter.next()
                if call % 3 == 1 {
                    errno = EINTR
                    return -1
                }
                return write(fd, buffer, min(count, 7))   // at most 7 bytes per call
            },
            fsync: { fd in fsync(fd) })
        let writer = try sampleWriter(value: 3, count: 100)
        try writer.write(to: url, calls: calls)
        XCTAssertGreaterThan(counter.value, 60)

        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(try file.floats("w"), [Float](repeating: 3, count: 100))
        XCTAssertEqual(try file.int32s("ids"), [1, 2])
        // Byte-for-byte what a plain write produces.
        let plain = scratch.appendingPathComponent("plain.safetensors")
        try writer.write(to: plain)
        XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: plain))
    }

    /// A full disk part-way through leaves the old target intact and no temporary file.
    func testENOSPCKeepsOldTargetAndRemovesTemporary() throws {
        let scratch = try makeScratchDirectory(self)
        let url = scratch.appendingPathComponent("model.safetensors")
        try sampleWriter(value: 1).write(to: url)
        let before = try Data(contentsOf: url)

        let counter = CallCounter()
        let calls = AtomicFile.SystemCalls(
            write: { fd, buffer, count in
                if counter.next() >= 3 {
                    errno = ENOSPC
                    return -1
                }
                return write(fd, buffer, count)
            },
            fsync: { fd in fsync(fd) })
        let error = expectError { try sampleWriter(value: 2).write(to: url, calls: calls) }
        XCTAssertEqual(error, .writeFailed(path: url.path, reason: "write: No space left on device"))
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try directoryEntries(scratch), ["model.safetensors"])
    }

    func testFsyncFailureKeepsOldTarget() throws {
        let scratch = try makeScratchDirectory(self)
        let url = scratch.appendingPathComponent("model.safetensors")
        try sampleWriter(value: 1).write(to: url)
        let before = try Data(contentsOf: url)

        let calls = AtomicFile.SystemCalls(
            write: { fd, buffer, count in write(fd, buffer, count) },
            fsync: { _ in errno = EIO; return -1 })
        let error = expectError { try sampleWriter(value: 2).write(to: url, calls: calls) }
        XCTAssertEqual(error, .writeFailed(path: url.path, reason: "fsync: Input/output error"))
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try directoryEntries(scratch), ["model.safetensors"])
    }
}

/// A thread-safe counter for the injected system calls.
private final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// Returns the number of this call, starting at 1.
    func next() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
