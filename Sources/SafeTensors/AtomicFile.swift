import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file atomically: write a temporary file in the same directory, fsync it, rename it
/// over the target, fsync the directory. On failure the temporary file is removed and the target
/// is left as it was.
struct AtomicFile {
    /// The system calls that can fail with a partial result; tests substitute them to simulate
    /// short writes, EINTR and ENOSPC. Each returns what the system call returns and sets `errno`.
    struct SystemCalls: Sendable {
        var write: @Sendable (Int32, UnsafeRawPointer, Int) -> Int
        var fsync: @Sendable (Int32) -> Int32

        static let live = SystemCalls(
            write: { fd, buffer, count in
                #if canImport(Darwin)
                return Darwin.write(fd, buffer, count)
                #elseif canImport(Musl)
                return Musl.write(fd, buffer, count)
                #else
                return Glibc.write(fd, buffer, count)
                #endif
            },
            fsync: { fd in
                #if canImport(Darwin)
                return Darwin.fsync(fd)
                #elseif canImport(Musl)
                return Musl.fsync(fd)
                #else
                return Glibc.fsync(fd)
                #endif
            })
    }

    let url: URL
    var calls = SystemCalls.live

    private struct Failure: Error { let reason: String }

    /// Writes `chunks` in order as the new content of `url`.
    func write(_ chunks: [[UInt8]]) throws(SafeTensorsError) {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))")
            .path

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw SafeTensorsError.writeFailed(path: target, reason:
                "cannot create temporary file '\(temporary)': \(SafeTensorsFile.errnoString())")
        }
        do throws(Failure) {
            var isOpen = true
            defer { if isOpen { _ = close(fd) } }
            for chunk in chunks {
                if let failure = chunk.withUnsafeBytes({ writeAll(fd, $0) }) { throw failure }
            }
            if calls.fsync(fd) != 0 {
                throw Failure(reason: "fsync: \(SafeTensorsFile.errnoString())")
            }
            isOpen = false
            if close(fd) != 0 {
                throw Failure(reason: "close: \(SafeTensorsFile.errnoString())")
            }
            if rename(temporary, target) != 0 {
                throw Failure(reason: "rename to target: \(SafeTensorsFile.errnoString())")
            }
        } catch {
            unlink(temporary)
            throw SafeTensorsError.writeFailed(path: target, reason: error.reason)
        }
        // The new content is in place; make the rename itself durable. File systems that cannot
        // fsync a directory report EINVAL, which is not a failure of this write.
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            let result = calls.fsync(directoryFD)
            let code = errno
            close(directoryFD)
            if result != 0 && code != EINVAL {
                throw SafeTensorsError.writeFailed(path: target, reason:
                    "fsync of directory '\(directory)' after rename: \(SafeTensorsFile.errnoString(code))")
            }
        }
    }

    /// Writes all of `bytes`, retrying after short writes and EINTR; returns what went wrong.
    private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Failure? {
        guard var pointer = bytes.baseAddress else { return nil }
        var remaining = bytes.count
        while remaining > 0 {
            // Linux transfers at most 0x7ffff000 bytes per call; ask for no more than 1 GiB.
            let written = calls.write(fd, pointer, min(remaining, 1 << 30))
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                return Failure(reason: "write: \(SafeTensorsFile.errnoString(code))")
            }
            if written == 0 {
                return Failure(reason: "write: no progress (0 bytes written)")
            }
            pointer += written
            remaining -= written
        }
        return nil
    }
}
