import Foundation
import XCTest
@testable import Tokenizers

final class CanonicalDecomposerTests: XCTestCase {
    private func foundationNFD(_ scalars: [Unicode.Scalar]) -> [UInt32] {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view).decomposedStringWithCanonicalMapping.unicodeScalars.map(\.value)
    }

    /// Every scalar of the blocks with canonical decompositions or combining marks decomposes as
    /// Foundation's NFD does.
    func testSingleScalarsMatchFoundation() {
        let decomposer = CanonicalDecomposer()
        let ranges: [ClosedRange<UInt32>] = [
            0x0000...0x33FF, 0xAC00...0xAD00, 0xD7A0...0xD7A3, 0xF900...0xFB4F,
            0x1D15E...0x1D1C0, 0x2F800...0x2FA1F,
        ]
        var checked = 0
        for range in ranges {
            for value in range {
                guard let scalar = Unicode.Scalar(value) else { continue }
                XCTAssertEqual(decomposer.nfd([scalar]).map(\.value), foundationNFD([scalar]), "U+\(String(value, radix: 16))")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 14_000)
    }

    /// Combining marks in the wrong order are put in canonical order (stable by combining class).
    func testCanonicalOrderingMatchesFoundation() {
        let decomposer = CanonicalDecomposer()
        let samples: [[Unicode.Scalar]] = [
            ["a", "\u{301}", "\u{323}"],            // above (230) before below (220): reordered
            ["\u{1EA1}", "\u{302}"],                  // ạ + circumflex
            ["e", "\u{301}", "\u{301}", "\u{316}", "\u{334}"],
            ["q", "\u{307}", "\u{323}", "x", "\u{323}", "\u{307}"],
            ["\u{F900}", "\u{FB2C}", "\u{1D15F}", "\u{D55C}", "\u{344}"],
            ["Z", "\u{324}", "\u{354}", "\u{367}", "\u{311}", "\u{313}", "a", "\u{308}", "\u{356}", "\u{32D}"],
        ]
        for sample in samples {
            XCTAssertEqual(decomposer.nfd(sample).map(\.value), foundationNFD(sample), "\(sample)")
        }
        // The first sample really is reordered.
        XCTAssertEqual(decomposer.nfd(["a", "\u{301}", "\u{323}"]), ["a", "\u{323}", "\u{301}"])
    }
}
