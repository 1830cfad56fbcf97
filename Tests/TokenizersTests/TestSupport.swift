import Foundation
import XCTest

/// Where the fixtures are: this file is `<root>/Tests/TokenizersTests/TestSupport.swift`.
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")
    static let miniLMGolden = fixtures.appendingPathComponent("minilm")
    static let tinyRoberta = fixtures.appendingPathComponent("tiny-roberta")
    static let miniLMModel = packageRoot.appendingPathComponent("models/all-MiniLM-L6-v2")

    /// The MiniLM model folder, failing with a hint when it has not been fetched.
    static func requireMiniLM(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let vocab = miniLMModel.appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: vocab.path) else {
            XCTFail("missing \(vocab.path): run scripts/setup.sh --model", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return miniLMModel
    }
}

/// One prompt of a `golden.json`: the filled template and the tokens transformers produced.
struct GoldenSequence: Decodable {
    var template: String
    var row: Int
    var text: String
    var tokens: [String]
}

struct Golden: Decodable {
    var max_length: Int
    var sequences: [GoldenSequence]

    static func load(_ folder: URL) throws -> Golden {
        let data = try Data(contentsOf: folder.appendingPathComponent("golden.json"))
        return try JSONDecoder().decode(Golden.self, from: data)
    }
}

/// Just enough of safetensors to read int32 tensors: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the data.
struct SafeTensorsFile {
    struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        var data_offsets: [Int]
    }

    let data: Data
    let headerLength: Int
    let entries: [String: Entry]

    init(_ url: URL) throws {
        data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw CocoaError(.fileReadCorruptFile) }
        var length: UInt64 = 0
        for (shift, byte) in data.prefix(8).enumerated() { length |= UInt64(byte) << (8 * UInt64(shift)) }
        headerLength = Int(length)
        let header = data.subdata(in: 8..<(8 + headerLength))
        let object = try JSONSerialization.jsonObject(with: header) as? [String: Any] ?? [:]
        var entries: [String: Entry] = [:]
        for (name, value) in object where name != "__metadata__" {
            let json = try JSONSerialization.data(withJSONObject: value)
            entries[name] = try JSONDecoder().decode(Entry.self, from: json)
        }
        self.entries = entries
    }

    /// The rows of a 2-D int32 tensor.
    func int32Rows(_ name: String) throws -> [[Int32]] {
        let entry = try XCTUnwrap(entries[name], "no tensor \(name)")
        XCTAssertEqual(entry.dtype, "I32")
        XCTAssertEqual(entry.shape.count, 2)
        let begin = 8 + headerLength + entry.data_offsets[0]
        let end = 8 + headerLength + entry.data_offsets[1]
        XCTAssertEqual(end - begin, entry.shape.reduce(4, *))
        var values: [Int32] = []
        values.reserveCapacity((end - begin) / 4)
        var offset = begin
        while offset < end {
            var value: UInt32 = 0
            for k in 0..<4 { value |= UInt32(data[offset + k]) << (8 * UInt32(k)) }
            values.append(Int32(bitPattern: value))
            offset += 4
        }
        let columns = entry.shape[1]
        return stride(from: 0, to: values.count, by: columns).map { Array(values[$0..<($0 + columns)]) }
    }
}

/// A fresh temporary folder, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("TokenizersTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Copies the named files of `source` into `destination`.
func copyFiles(_ names: [String], from source: URL, to destination: URL) throws {
    for name in names {
        try FileManager.default.copyItem(
            at: source.appendingPathComponent(name), to: destination.appendingPathComponent(name))
    }
}
