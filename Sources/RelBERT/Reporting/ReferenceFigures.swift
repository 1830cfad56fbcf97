import Foundation

/// Published figures to print beside a model's own (`data/reference_figures.json`), in percent.
public struct ReferenceFigures: Codable, Sendable, Equatable {
    public struct Analogy: Codable, Sendable, Equatable {
        public var key: String
        public var name: String
        /// Dataset (`sat`, `u2`, `u4`, `google`, `bats`) → test accuracy, percent.
        public var accuracy: [String: Double]
    }

    public struct Classification: Codable, Sendable, Equatable {
        public var key: String
        public var name: String
        public var macroF1: [String: Double]
        public var microF1: [String: Double]

        enum CodingKeys: String, CodingKey {
            case key, name
            case macroF1 = "macro_f1"
            case microF1 = "micro_f1"
        }
    }

    public var source: String
    public var analogy: [Analogy]
    public var classification: [Classification]

    public init(source: String = "", analogy: [Analogy] = [], classification: [Classification] = []) {
        self.source = source
        self.analogy = analogy
        self.classification = classification
    }

    public static func load(from url: URL) throws(DatasetError) -> ReferenceFigures {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw .cannotRead(path: url.path, reason: "no such file") }
        do {
            return try JSONDecoder().decode(ReferenceFigures.self, from: data)
        } catch {
            throw .cannotRead(path: url.path, reason: "not the reference figures format: \(error)")
        }
    }

    public func analogy(_ key: String) -> Analogy? { analogy.first { $0.key == key } }
    public func classification(_ key: String) -> Classification? { classification.first { $0.key == key } }
}
