import Foundation

/// The fixtures the cluster tests load.
enum ClusterTestPaths {
    /// The tiny RoBERTa model (Tests/Fixtures/tiny-roberta, see its README).
    static let tinyRoberta = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny-roberta")
}
