import Foundation
import XCTest
@testable import SafeTensors

/// Reads the real all-MiniLM-L6-v2 weights and the golden fixtures. Expected numbers were read
/// with numpy (`np.frombuffer` on the raw file).
final class ModelFileTests: XCTestCase {
    private let modelURL = repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2/model.safetensors")
    private let goldenURL = repositoryRoot.appendingPathComponent("Tests/Fixtures/minilm/golden.safetensors")

    func testMiniLMHeader() throws {
        let file = try SafeTensorsFile(contentsOf: modelURL)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.tensorNames.count, 104)
        XCTAssertEqual(file.tensorNames.first, "embeddings.position_ids")
        XCTAssertEqual(file.tensorNames.last, "pooler.dense.weight")
        XCTAssertEqual(file.tensorNames[5], "embeddings.word_embeddings.weight")

        let words = try XCTUnwrap(file.info("embeddings.word_embeddings.weight"))
        XCTAssertEqual(words.dtype, .F32)
        XCTAssertEqual(words.shape, [30522, 384])
        XCTAssertEqual(words.dataOffsets, 796_672 ..< 47_678_464)
        XCTAssertEqual(words.elementCount, 30522 * 384)

        XCTAssertEqual(file.info("encoder.layer.0.intermediate.dense.weight")?.shape, [1536, 384])
        XCTAssertEqual(file.info("encoder.layer.5.output.dense.weight")?.shape, [384, 1536])
        XCTAssertEqual(file.info("embeddings.position_ids")?.dtype, .I64)
        XCTAssertNil(file.info("cls.predictions.bias"))

        // File order is offset order.
        let begins = file.tensorNames.compactMap { file.info($0)?.dataOffsets.lowerBound }
        XCTAssertEqual(begins, begins.sorted())
        XCTAssertEqual(begins.count, 104)
    }

    func testMiniLMValues() throws {
        let file = try SafeTensorsFile(contentsOf: modelURL)
        let words = try file.floats("embeddings.word_embeddings.weight", shape: [30522, 384])
        XCTAssertEqual(words.count, 30522 * 384)
        XCTAssertEqual(Array(words[0..<4]),
                       [-0.019989013671875, -0.0034027099609375, -0.014678955078125, 0.0117034912109375])
        XCTAssertEqual(Array(words[101 * 384 ..< 101 * 384 + 3]),
                       [-0.01761939749121666, -0.007600549608469009, 0.047105543315410614])
        XCTAssertEqual(Array(words[(30522 * 384 - 3)...]),
                       [-0.017723897472023964, 0.008096314035356045, 0.004570063669234514])
        // Sum over all 11.7M values in double precision (numpy: 138.05072214923618).
        let sum = words.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(sum, 138.05072214923618, accuracy: 1e-6)

        let gamma = try file.floats("embeddings.LayerNorm.weight")
        XCTAssertEqual(gamma.count, 384)
        XCTAssertEqual(Array(gamma[0..<4]),
                       [0.5989283323287964, 0.583594799041748, 0.6335410475730896, 0.6244606375694275])

        // readFloats into a caller's buffer gives the same numbers.
        var buffer = [Float](repeating: .nan, count: 384)
        try buffer.withUnsafeMutableBufferPointer { try file.readFloats("embeddings.LayerNorm.weight", into: $0) }
        XCTAssertEqual(buffer, gamma)

        // I64 position ids narrow to Int32.
        let positions = try file.int32s("embeddings.position_ids")
        XCTAssertEqual(positions, (0..<512).map { Int32($0) })

        // rawBytes is a view of the F32 data: 4 bytes per element, little-endian.
        let raw = try file.rawBytes("embeddings.LayerNorm.weight")
        XCTAssertEqual(raw.count, 384 * 4)
        XCTAssertEqual(raw.loadUnaligned(as: UInt32.self), gamma[0].bitPattern)
    }

    func testMiniLMAccessorErrors() throws {
        let file = try SafeTensorsFile(contentsOf: modelURL)
        let path = modelURL.path
        XCTAssertEqual(expectError { try file.floats("nope") }, .missingTensor(path: path, name: "nope"))
        XCTAssertEqual(expectError { try file.rawBytes("nope") }, .missingTensor(path: path, name: "nope"))
        XCTAssertEqual(expectError { try file.floats("embeddings.position_ids") },
                       .wrongDType(path: path, name: "embeddings.position_ids",
                                   expected: "F32, F16, BF16 or F64", found: "I64"))
        XCTAssertEqual(expectError { try file.int32s("pooler.dense.bias") },
                       .wrongDType(path: path, name: "pooler.dense.bias", expected: "I32 or I64", found: "F32"))
        XCTAssertEqual(expectError { try file.floats("pooler.dense.bias", shape: [1, 384]) },
                       .shapeMismatch(path: path, name: "pooler.dense.bias", expected: [1, 384], found: [384]))
        var small = [Float](repeating: 0, count: 383)
        let error = small.withUnsafeMutableBufferPointer { buffer in
            expectError { try file.readFloats("pooler.dense.bias", into: buffer) }
        }
        XCTAssertEqual(error, .elementCountMismatch(path: path, name: "pooler.dense.bias", expected: 384, found: 383))
        XCTAssertTrue(error?.description.contains(path) ?? false)
    }

    func testGoldenFixture() throws {
        let file = try SafeTensorsFile(contentsOf: goldenURL)
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(file.tensorNames.count, 28)
        XCTAssertEqual(file.tensorNames.last, "template_d.input_ids")

        let ids = try file.int32s("template_a.input_ids")
        XCTAssertEqual(file.info("template_a.input_ids")?.shape, [12, 42])
        XCTAssertEqual(file.info("template_a.input_ids")?.dtype, .I32)
        XCTAssertEqual(Array(ids[0..<42]),
                       [101, 2651, 1010, 1045, 2633, 3603, 1996, 7189, 2090, 3000, 1998, 2605, 1024, 3000,
                        2003, 1996, 103, 1997, 2605, 102] + [Int32](repeating: 0, count: 22))
        let mask = try file.int32s("template_a.attention_mask")
        XCTAssertEqual(Array(mask[0..<42]), [Int32](repeating: 1, count: 20) + [Int32](repeating: 0, count: 22))
        XCTAssertEqual(file.info("template_d.input_ids")?.shape, [12, 36])

        let rows = try file.int32s("grad.nce.embeddings.word_embeddings.weight.rows")
        XCTAssertEqual(rows, [0, 101, 102, 103, 1010, 1011, 1045, 1056, 1060, 1521, 1996, 1997, 1999, 2003,
                              2008, 2021, 2023, 2047, 2074, 2259, 2347, 2605, 2666, 2964, 2980, 3000, 3147,
                              3191, 3213, 3276, 3392, 3424, 3567, 3672, 3899, 3915, 4097, 4157, 4355, 4895,
                              5204, 5217, 6321, 6534, 6994, 7279, 7668, 7875, 8249, 8671, 8691, 10165,
                              10521, 12199, 12204, 13602, 13702, 15313, 17022])
        XCTAssertEqual(file.info("grad.nce.embeddings.word_embeddings.weight.values")?.shape, [59, 384])

        XCTAssertEqual(try file.floats("loss.nce"), [34.42853927612305])
        XCTAssertEqual(try file.floats("loss.triplet"), [3.990873336791992])

        let embeddings = try file.floats("template_a.embeddings", shape: [12, 384])
        XCTAssertEqual(Array(embeddings[0..<4]),
                       [-0.06598535925149918, 0.22231997549533844, 0.22481437027454376, -0.11602587252855301])

        let last = try file.floats("template_d.last_hidden_state", shape: [12, 36, 384])
        let index = (11 * 36 + 35) * 384
        XCTAssertEqual(Array(last[(index + 382)...]), [0.6556807160377502, 0.19595928490161896])
    }
}
