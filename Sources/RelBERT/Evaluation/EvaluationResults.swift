import Foundation

/// Everything `relbert eval all` measured for one model: the content of `results.json`.
///
/// Figures are fractions (0.3461, not 34.61) rounded to 4 decimals with ``EvaluationResults/rounded(_:)``,
/// the rounding the individual `eval` commands apply to their `--json` output, so the two agree exactly.
public struct EvaluationResults: Codable, Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var path: String
        /// The weights' checksum (``ParameterChecksum``), hexadecimal: which weights were evaluated.
        public var checksum: String
        public var architecture: String
        public var template: String
        public var pooling: String
        public var maxLength: Int
    }

    public struct Analogy: Codable, Sendable, Equatable {
        /// `u2`, `google`, `conceptnet_relational_similarity`, ...
        public var dataset: String
        /// `test` or `valid`.
        public var split: String
        public var direction: String
        public var questions: Int
        public var correct: Int
        /// correct / questions, rounded to 4 decimals.
        public var accuracy: Double
        /// correct / questions, unrounded: what tables print with one decimal, as `eval analogy` does.
        public var exactAccuracy: Double { questions == 0 ? 0 : Double(correct) / Double(questions) }
    }

    public struct Classification: Codable, Sendable, Equatable {
        public struct GridPoint: Codable, Sendable, Equatable {
            public var hidden: Int
            public var learningRate: Double
            public var validationMacroF1: Double
        }

        public var dataset: String
        public var macroF1: Double
        public var microF1: Double
        /// Label → test F1, in the dataset's label order.
        public var perClassF1: [String: Double]
        public var labels: [String]
        public var hidden: Int
        public var learningRate: Double
        public var validationMacroF1: Double?
        public var epochs: Int
        public var grid: [GridPoint]
        public var train: Int
        public var validation: Int
        public var test: Int
        public var seconds: Double
    }

    public struct Mapping: Codable, Sendable, Equatable {
        public var problems: Int
        public var terms: Int
        public var correct: Int
        public var accuracy: Double
        public var meanProblemAccuracy: Double
        public var perProblem: [String: Double]
    }

    public struct Timings: Codable, Sendable, Equatable {
        /// Distinct prompts the evaluation needed, and how many of them were embedded in this run
        /// (the rest came from the embedding cache).
        public var distinctPairs: Int
        public var pairsEmbedded: Int
        public var embeddingSeconds: Double
        public var analogySeconds: Double
        public var classificationSeconds: Double
        public var mappingSeconds: Double
        public var totalSeconds: Double
        public var threads: Int
    }

    public var model: Model
    public var created: String
    public var analogy: [Analogy]
    public var classification: [Classification]
    public var mapping: Mapping?
    public var timings: Timings

    /// 4 decimals, the precision of every figure in `results.json` and in the commands' JSON lines.
    public static func rounded(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }

    /// The forward test accuracy of `dataset` (the paper's headline figure), unrounded.
    public func analogyAccuracy(_ dataset: String, split: String = "test", direction: String = "forward") -> Double? {
        analogy.first { $0.dataset == dataset && $0.split == split && $0.direction == direction }?.exactAccuracy
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> EvaluationResults {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(EvaluationResults.self, from: data)
    }
}
