import Foundation
import XCTest
@testable import SafeTensors

/// Every malformed file is rejected when opened, with an error that names the file (and the
/// tensor, where one is at fault).
final class CorruptFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeScratchDirectory(self)
    }

    /// Writes `bytes`, opens the file, and returns the error (failing the test if it opens).
    private func openError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line)
        throws -> (path: String, error: SafeTensorsError?) {
        let url = try writeFile(bytes, named: "corrupt-\(UUID().uuidString).safetensors", in: directory)
        let error = expectError({ try SafeTensorsFile(contentsOf: url) }, file: file, line: line)
        if let error {
            XCTAssertEqual(error.path, url.path, file: file, line: line)
            XCTAssertTrue(error.description.contains(url.path), file: file, line: line)
        }
        return (url.path, error)
    }

    private let goodEntry = #""t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#

    func testValidBaselineOpens() throws {
        // The helper-built file the corruptions below start from is itself valid.
        let url = try writeFile(fileBytes(header: "{\(goodEntry)}", data: littleEndianBytes([1, 2] as [Float])),
                                named: "good.safetensors", in: directory)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(try file.floats("t"), [1, 2])
    }

    func testMissingFile() throws {
        let url = directory.appendingPathComponent("absent.safetensors")
        let error = expectError { try SafeTensorsFile(contentsOf: url) }
        guard case .cannotOpen(let path, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(path, url.path)
        XCTAssertTrue(reason.contains("No such file"), reason)
    }

    func testDirectoryIsNotAFile() throws {
        let error = expectError { try SafeTensorsFile(contentsOf: directory) }
        XCTAssertEqual(error, .cannotOpen(path: directory.path, reason: "not a regular file"))
    }

    func testEmptyAndShortFiles() throws {
        for bytes: [UInt8] in [[], [16, 0, 0], [2, 0, 0, 0, 0, 0, 0]] {
            let (path, error) = try openError(bytes)
            XCTAssertEqual(error, .truncated(path: path, reason:
                "file has \(bytes.count) bytes, fewer than the 8-byte header length"))
        }
    }

    func testHeaderLengthLargerThanFile() throws {
        let bytes = fileBytes(header: "{\(goodEntry)}", data: littleEndianBytes([1, 2] as [Float]),
                              declaredLength: 10_000)
        let (path, error) = try openError(bytes)
        XCTAssertEqual(error, .truncated(path: path, reason:
            "header length 10000 exceeds the \(bytes.count - 8) bytes after the length field"))

        let (path2, huge) = try openError(fileBytes(header: "{}", declaredLength: .max))
        guard case .truncated(let p, _)? = huge else { return XCTFail("\(String(describing: huge))") }
        XCTAssertEqual(p, path2)
    }

    func testInvalidJSON() throws {
        for header in [#"{"t":{"dtype":"F32","#, "{not json}", #"{"t" 1}"#, #"{"t":[1,2}"#] {
            let (path, error) = try openError(fileBytes(header: header))
            guard case .malformedHeader(let p, let reason)? = error else {
                XCTFail("\(header): \(String(describing: error))"); continue
            }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("not valid JSON"), reason)
        }
    }

    func testHeaderThatIsNotAnObject() throws {
        let (path, error) = try openError(fileBytes(header: "[1, 2]  "))
        XCTAssertEqual(error, .malformedHeader(path: path, reason: "header does not start with '{'"))
        let (path2, error2) = try openError(fileBytes(header: "        "))
        XCTAssertEqual(error2, .malformedHeader(path: path2, reason: "header is empty"))
        let (path3, error3) = try openError([4, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF, 0xFE, 0x7D])
        XCTAssertEqual(error3, .malformedHeader(path: path3, reason: "header is not valid UTF-8"))
    }

    func testOffsetsOutOfRange() throws {
        let header = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#
        let (path, error) = try openError(fileBytes(header: header, data: littleEndianBytes([1, 2] as [Float])))
        XCTAssertEqual(error, .truncated(path: path, reason:
            "tensor 'w' has 'data_offsets' [0, 12] past the end of the 8-byte data section"))

        let reversed = #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#
        let (path2, error2) = try openError(fileBytes(header: reversed, data: [UInt8](repeating: 0, count: 8)))
        XCTAssertEqual(error2, .malformedHeader(path: path2, reason:
            "tensor 'w' has 'data_offsets' [8, 0] with begin > end"))

        let negative = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#
        let (path3, error3) = try openError(fileBytes(header: negative, data: [0, 0, 0, 0]))
        XCTAssertEqual(error3, .malformedHeader(path: path3, reason:
            "tensor 'w' has negative 'data_offsets' [-4, 0]"))
    }

    func testByteCountNotMatchingShape() throws {
        let header = #"{"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,8]}}"#
        let (path, error) = try openError(fileBytes(header: header, data: [UInt8](repeating: 0, count: 12)))
        XCTAssertEqual(error, .malformedHeader(path: path, reason:
            "tensor 'w' has 8 bytes in 'data_offsets' [0, 8], but F16 [2, 3] needs 12"))
    }

    func testOverlappingTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let (path, error) = try openError(fileBytes(header: header, data: [UInt8](repeating: 0, count: 12)))
        XCTAssertEqual(error, .malformedHeader(path: path, reason: "tensors 'a' [0, 8) and 'b' [4, 12) overlap"))

        // Same range twice is an overlap too.
        let twice = #"{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"#
            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let (path2, error2) = try openError(fileBytes(header: twice, data: [0, 0, 0, 0]))
        XCTAssertEqual(error2, .malformedHeader(path: path2, reason: "tensors 'a' [0, 4) and 'b' [0, 4) overlap"))
    }

    func testUnknownDType() throws {
        let header = #"{"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}"#
        let (path, error) = try openError(fileBytes(header: header, data: [1, 2, 3, 4]))
        XCTAssertEqual(error, .unsupportedDType(path: path, name: "q", dtype: "F8_E4M3"))
    }

    func testBadShapesAndFields() throws {
        let cases: [(String, String)] = [
            (#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#,
             "tensor 'w' has a negative dimension -1 in 'shape'"),
            (#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}"#,
             "tensor 'w' has a non-integer in 'shape'"),
            (#"{"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
             "tensor 'w' has a non-integer in 'shape'"),
            (#"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#,
             "tensor 'w' has a non-integer in 'shape'"),
            (#"{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}"#,
             "tensor 'w' has a non-integer in 'shape'"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#,
             "tensor 'w' has a non-integer in 'data_offsets'"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
             "tensor 'w' has no 'data_offsets' array of two integers"),
            (#"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#,
             "tensor 'w' has no array 'shape'"),
            (#"{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#,
             "tensor 'w' has no string 'dtype'"),
            (#"{"w":[1,2]}"#,
             "entry for tensor 'w' is not a JSON object"),
            (#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
             "tensor 'w' shape [4294967296, 4294967296] overflows"),
            (#"{"__metadata__":{"k":1}}"#,
             "'__metadata__' value for key 'k' is not a string"),
            (#"{"__metadata__":["k"]}"#,
             "'__metadata__' is not a JSON object"),
        ]
        for (header, reason) in cases {
            let (path, error) = try openError(fileBytes(header: header, data: [0, 0, 0, 0]))
            XCTAssertEqual(error, .malformedHeader(path: path, reason: reason), header)
        }
    }

    func testI64OutOfInt32Range() throws {
        let header = #"{"ids":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}"#
        let url = try writeFile(fileBytes(header: header, data: littleEndianBytes([1, -2, 1 << 40] as [Int64])),
                                named: "ids.safetensors", in: directory)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(expectError { try file.int32s("ids") },
                       .valueOutOfRange(path: url.path, name: "ids", reason:
                        "I64 value 1099511627776 at flat index 2 does not fit in Int32"))
    }

    /// Not corruptions: padding, gaps, odd alignment, zero-sized tensors, no data at all.
    func testTolerated() throws {
        // Header padded with spaces (and a newline), data not 4-byte aligned in the file
        // (header length 57), a gap before the tensor, F64 and BF16 data.
        let header = #"{"d":{"dtype":"F64","shape":[1],"data_offsets":[3,11]},"#
            + #""h":{"dtype":"BF16","shape":[1],"data_offsets":[11,13]}} "# + "\n"
        XCTAssertEqual(header.utf8.count % 4, 1)
        var data: [UInt8] = [9, 9, 9]
        withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian) { data += $0 }
        data += [0x80, 0x3F]   // bf16 1.0
        let url = try writeFile(fileBytes(header: header, data: data), named: "gaps.safetensors", in: directory)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.tensorNames, ["d", "h"])
        XCTAssertEqual(try file.floats("d"), [Float(0.1)])
        XCTAssertEqual(try file.floats("h"), [1])

        // A header with no tensors and an empty data section.
        let empty = try writeFile(fileBytes(header: #"{"__metadata__":{"k":"v"}}"#), named: "e.safetensors",
                                  in: directory)
        let emptyFile = try SafeTensorsFile(contentsOf: empty)
        XCTAssertEqual(emptyFile.tensorNames, [])
        XCTAssertEqual(emptyFile.metadata, ["k": "v"])

        // Only zero-sized tensors, also sharing an offset.
        let zeros = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"#
            + #""b":{"dtype":"I32","shape":[2,0],"data_offsets":[0,0]}}"#
        let zeroURL = try writeFile(fileBytes(header: zeros), named: "z.safetensors", in: directory)
        let zeroFile = try SafeTensorsFile(contentsOf: zeroURL)
        XCTAssertEqual(zeroFile.tensorNames, ["a", "b"])
        XCTAssertEqual(try zeroFile.floats("a"), [])
        XCTAssertEqual(try zeroFile.int32s("b"), [])
    }
}
