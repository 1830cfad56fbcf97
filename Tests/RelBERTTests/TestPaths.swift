import Foundation

/// Where the tests find the repository's files, from this source file's location.
enum TestPaths {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures")
    static let defaultModel = root.appendingPathComponent("models/all-MiniLM-L6-v2")
    static let tinyRoberta = fixtures.appendingPathComponent("tiny-roberta")
    static let data = root.appendingPathComponent("data")

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("relbert-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
