import Foundation
import XCTest
@testable import SafeTensors

/// The repository root: this file is `<root>/Tests/SafeTensorsTests/TestSupport.swift`.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // SafeTensorsTests
    .deletingLastPathComponent()   // Tests
    .deletingLastPathComponent()   // root

/// A fresh empty directory, removed again when the test ends.
func makeScratchDirectory(_ test: XCTestCase) throws -> URL {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    test.addTeardownBlock {
        try? FileManager.default.removeItem(at: directory)
    }
    return directory
}

/// Bytes of a safetensors file: the 8-byte length (by default the header's), header, data.
func fileBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    var bytes: [UInt8] = []
    withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { bytes += $0 }
    return bytes + headerBytes + data
}

/// Writes `bytes` to `name` inside `directory` and returns its URL.
func writeFile(_ bytes: [UInt8], named name: String, in directory: URL) throws -> URL {
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

/// Little-endian bytes of some values.
func littleEndianBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

func littleEndianBytes(_ values: [Int64]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

/// Runs `body`, which must throw a `SafeTensorsError`, and returns that error.
func expectError<T>(_ body: () throws -> T,
                    file: StaticString = #filePath, line: UInt = #line) -> SafeTensorsError? {
    do {
        let value = try body()
        XCTFail("expected a SafeTensorsError, got \(value)", file: file, line: line)
        return nil
    } catch let error as SafeTensorsError {
        return error
    } catch {
        XCTFail("expected a SafeTensorsError, got \(error)", file: file, line: line)
        return nil
    }
}

/// Names of the entries in `directory`.
func directoryEntries(_ directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
}
