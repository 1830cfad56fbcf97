import Foundation
import XCTest
@testable import Tokenizers

/// Tokenization is in the inference hot path: it must be fast and safe to call from many threads.
final class ThroughputTests: XCTestCase {
    private static let pairs = [
        ("paris", "france"), ("café", "coffee"), ("New York", "USA"), ("x-ray", "radiation"),
        ("unbelievably", "antidisestablishmentarianism"), ("Einstein", "physicist"), ("東京", "日本"),
    ]

    private func prompts(mask: String, count: Int) -> [String] {
        (0..<count).map { i in
            let (a, b) = Self.pairs[i % Self.pairs.count]
            return "I wasn’t aware of this relationship, but I just read in the encyclopedia that \(a)\(i % 17) is the \(mask) of \(b)"
        }
    }

    /// 2000 prompts take about 0.2 s in a debug build on one core; the bound only catches
    /// pathological slowdowns (quadratic work, per-call file or Foundation round trips).
    private func assertFast(_ tokenizer: any Tokenizer, mask: String) {
        let texts = prompts(mask: mask, count: 2000)
        let start = Date()
        var total = 0
        for text in texts { total += tokenizer.encode(text).ids.count }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(total, 2000 * 20)
        XCTAssertLessThan(elapsed, 4.0, "2000 prompts took \(elapsed) s")
    }

    func testWordPieceIsFast() throws {
        assertFast(try WordPieceTokenizer(directory: Fixtures.requireMiniLM()), mask: "[MASK]")
    }

    func testByteLevelBPEIsFast() throws {
        assertFast(try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta), mask: "<mask>")
    }

    /// Concurrent calls (sharing the BPE word cache and the NFD memo) give the serial results.
    func testConcurrentEncodingMatchesSerial() throws {
        let tokenizers: [(any Tokenizer, String)] = [
            (try WordPieceTokenizer(directory: Fixtures.requireMiniLM()), "[MASK]"),
            (try ByteLevelBPETokenizer(directory: Fixtures.tinyRoberta), "<mask>"),
        ]
        for (tokenizer, mask) in tokenizers {
            let texts = prompts(mask: mask, count: 400)
            let serial = texts.map { tokenizer.encode($0) }
            let results = ResultBox(count: texts.count)
            DispatchQueue.concurrentPerform(iterations: texts.count) { i in
                results.set(i, tokenizer.encode(texts[i]))
            }
            XCTAssertEqual(results.values, serial.map(Optional.some))
        }
    }
}

/// Collects results written from several threads.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Encoding?]

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Encoding) {
        lock.lock()
        storage[index] = value
        lock.unlock()
    }

    var values: [Encoding?] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
