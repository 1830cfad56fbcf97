import Foundation

/// Raw bytes as a dictionary key, hashed in one call.
struct ByteKey: Hashable, Sendable {
    var bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// A thread-safe word -> ids cache for the BPE model. Like `tokenizers`, it stops taking new
/// entries once full instead of evicting.
final class BPECache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ByteKey: [Int32]] = [:]
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func ids(for word: ByteKey) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func store(_ ids: [Int32], for word: ByteKey) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count < capacity { entries[word] = ids }
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return entries.count
    }
}
