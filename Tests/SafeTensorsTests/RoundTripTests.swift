import Foundation
import XCTest
@testable import SafeTensors

final class RoundTripTests: XCTestCase {

    func testWriteThenReadAllDTypes() throws {
        let directory = try makeScratchDirectory(self)
        let url = directory.appendingPathComponent("round.safetensors")

        let f32: [Float] = [1.5, -2.25, .pi, 0, -0.0, .infinity, .leastNonzeroMagnitude, 1e30]
        let narrow: [Float] = [1.0 / 3.0, -65504, 5.960464477539063e-08, 0.1, 100, -0.0, .infinity]
        let ids: [Int32] = [0, 1, -1, .max, .min, 42]

        var writer = SafeTensorsWriter()
        writer.metadata = ["format": "pt", "note": "a/b \"quoted\" é"]
        try f32.withUnsafeBufferPointer { try writer.add("weights.f32", shape: [2, 4], floats: $0) }
        try narrow.withUnsafeBufferPointer { try writer.add("weights.f16", shape: [7], floats: $0, as: .F16) }
        try writer.add("weights.bf16", shape: [1, 7], floats: narrow, as: .BF16)
        writer.add("ids", shape: [3, 2], int32s: ids)
        try writer.add("scalar", shape: [], floats: [7.0])
        try writer.add("empty", shape: [0, 3], floats: [])
        XCTAssertEqual(writer.tensorNames, ["weights.f32", "weights.f16", "weights.bf16", "ids", "scalar", "empty"])
        try writer.write(to: url)

        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "a/b \"quoted\" é"])
        XCTAssertEqual(file.tensorNames, ["weights.f32", "weights.f16", "weights.bf16", "ids", "scalar", "empty"])

        XCTAssertEqual(file.info("weights.f32")?.shape, [2, 4])
        XCTAssertEqual(try file.floats("weights.f32").map(\.bitPattern), f32.map(\.bitPattern))

        XCTAssertEqual(file.info("weights.f16")?.dtype, .F16)
        XCTAssertEqual(file.info("weights.f16")?.byteCount, 14)
        XCTAssertEqual(try file.floats("weights.f16"),
                       [0.333251953125, -65504, 5.960464477539063e-08, 0.0999755859375, 100, -0.0, .infinity])
        XCTAssertEqual(try file.floats("weights.f16")[5].sign, .minus)

        XCTAssertEqual(file.info("weights.bf16")?.dtype, .BF16)
        XCTAssertEqual(file.info("weights.bf16")?.shape, [1, 7])
        XCTAssertEqual(try file.floats("weights.bf16"),
                       [0.333984375, -65536, 5.960464477539063e-08, 0.10009765625, 100, -0.0, .infinity])

        XCTAssertEqual(file.info("ids")?.dtype, .I32)
        XCTAssertEqual(try file.int32s("ids"), ids)
        XCTAssertEqual(try file.floats("scalar"), [7])
        XCTAssertEqual(file.info("scalar")?.shape, [])
        XCTAssertEqual(file.info("scalar")?.elementCount, 1)
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(file.info("empty")?.elementCount, 0)
        XCTAssertEqual(try file.rawBytes("empty").count, 0)

        // The unaligned F16 tensor did not disturb the data that follows it.
        XCTAssertEqual(file.info("weights.bf16")?.dataOffsets, 46 ..< 60)
        XCTAssertEqual(file.info("ids")?.dataOffsets, 60 ..< 84)
    }

    /// Layout the reference implementation (Hugging Face safetensors) accepts: sorted keys, header
    /// padded with spaces to a multiple of 8, tensors packed back to back in insertion order,
    /// data ending exactly at the end of the file.
    func testWrittenLayout() throws {
        let directory = try makeScratchDirectory(self)
        let url = directory.appendingPathComponent("layout.safetensors")
        var writer = SafeTensorsWriter()
        writer.metadata = ["z": "1", "a": "2"]
        try writer.add("zeta", shape: [2], floats: [1, 2])
        writer.add("alpha", shape: [1], int32s: [7])
        try writer.add("mid", shape: [3], floats: [1, 2, 3], as: .BF16)
        try writer.write(to: url)

        let bytes = try [UInt8](Data(contentsOf: url))
        let length = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        XCTAssertEqual(length % 8, 0)
        let header = try XCTUnwrap(String(bytes: bytes[8 ..< 8 + Int(length)], encoding: .utf8))
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces),
                       #"{"__metadata__":{"a":"2","z":"1"},"alpha":{"data_offsets":[8,12],"dtype":"I32","shape":[1]},"#
                       + #""mid":{"data_offsets":[12,18],"dtype":"BF16","shape":[3]},"#
                       + #""zeta":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}}"#)
        XCTAssertTrue(header.hasSuffix("}") || header.hasSuffix(" "))
        XCTAssertEqual(bytes.count, 8 + Int(length) + 18)
        // First tensor's data directly after the padded header.
        XCTAssertEqual(Array(bytes[(8 + Int(length))...].prefix(8)), littleEndianBytes([1, 2] as [Float]))

        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.tensorNames, ["zeta", "alpha", "mid"])
    }

    func testEmptyWriterProducesReadableFile() throws {
        let directory = try makeScratchDirectory(self)
        let url = directory.appendingPathComponent("empty.safetensors")
        try SafeTensorsWriter().write(to: url)
        let bytes = try [UInt8](Data(contentsOf: url))
        XCTAssertEqual(bytes, [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.tensorNames, [])
        XCTAssertEqual(file.metadata, [:])
    }

    func testWriterRejectsBadInput() throws {
        let unwritten = SafeTensorsWriter.unwrittenPath
        var writer = SafeTensorsWriter()
        XCTAssertEqual(expectError { try writer.add("x", shape: [2, 2], floats: [1, 2, 3]) },
                       .elementCountMismatch(path: unwritten, name: "x", expected: 4, found: 3))
        XCTAssertEqual(expectError { try writer.add("x", shape: [2], floats: [1, 2], as: .F64) },
                       .unsupportedDType(path: unwritten, name: "x", dtype: "F64"))
        XCTAssertEqual(expectError { try writer.add("x", shape: [-1], floats: [1]) },
                       .malformedHeader(path: unwritten, reason: "tensor 'x' has invalid shape [-1]"))
        XCTAssertEqual(expectError { try writer.add("__metadata__", shape: [1], floats: [1]) },
                       .malformedHeader(path: unwritten, reason: "'__metadata__' cannot be a tensor name"))
        try writer.add("x", shape: [1], floats: [1])
        XCTAssertEqual(expectError { try writer.add("x", shape: [1], floats: [2]) },
                       .malformedHeader(path: unwritten, reason: "tensor 'x' added twice"))
        XCTAssertEqual(writer.tensorNames, ["x"])

        // The non-throwing int32 add reports its problem at write time, and nothing is written.
        let directory = try makeScratchDirectory(self)
        let url = directory.appendingPathComponent("bad.safetensors")
        writer.add("ids", shape: [4], int32s: [1, 2, 3])
        XCTAssertEqual(expectError { try writer.write(to: url) },
                       .elementCountMismatch(path: url.path, name: "ids", expected: 4, found: 3))
        XCTAssertEqual(try directoryEntries(directory), [])
    }
}
