import Foundation
import SafeTensors
import Tokenizers

/// A prompt found by search rather than written by hand, as a model folder stores it:
/// `prompt.json` (`{"method": "ptuning", "kind": "continuous", "before": 8, "between": 2, "after": 2}`,
/// plus `"triggers": [ids]` for a discrete prompt) and, for a continuous prompt, `prompt.safetensors`
/// with `"vectors"` F32 `[triggers, H]`: the vectors the language model sees at the trigger positions.
public struct LearnedPrompt: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// P-tuning: trigger positions take learned vectors.
        case continuous
        /// AutoPrompt: trigger positions take vocabulary tokens.
        case discrete
    }

    public var method: String
    public var kind: Kind
    public var shape: ContinuousPrompt
    /// `[triggerCount, H]` for a continuous prompt, empty otherwise.
    public var vectors: [Float]
    /// Token ids for a discrete prompt, empty otherwise.
    public var triggers: [Int32]

    public init(method: String, kind: Kind, shape: ContinuousPrompt, vectors: [Float] = [], triggers: [Int32] = []) {
        self.method = method
        self.kind = kind
        self.shape = shape
        self.vectors = vectors
        self.triggers = triggers
    }

    public static let fileName = "prompt.json"
    public static let vectorsFileName = "prompt.safetensors"

    /// A fingerprint of the prompt's content (for embedding cache keys and logs).
    public var fingerprint: UInt64 {
        var text = "\(method)|\(kind.rawValue)|\(shape.description)|" + triggers.map(String.init).joined(separator: ",")
        vectors.withUnsafeBufferPointer { v in
            if let base = v.baseAddress { text += "|\(ParameterChecksum.of(base, count: v.count))" }
        }
        return ParameterChecksum.ofText(text)
    }

    /// What a person reads for the prompt: `z z <subj> z <obj> z (ptuning 2/1/1, 1a2b…)`. It is also a
    /// valid custom template text, so every place that shows or keys by a template can show this.
    public var templateText: String {
        func z(_ n: Int) -> [String] { Array(repeating: "z", count: n) }
        let body = (z(shape.before) + ["<subj>"] + z(shape.between) + ["<obj>"] + z(shape.after)).joined(separator: " ")
        return body + String(format: " (%@ %@, %016llx)", method, shape.description, fingerprint)
    }

    /// Token ids of a pair: triggers at the mask placeholders (`vocabulary + k` for a continuous prompt,
    /// the trigger tokens for a discrete one).
    public func tokenize(_ pair: WordPair, tokenizer: any Tokenizer, vocabulary: Int, maxLength: Int) throws(EmbeddingError) -> [Int32] {
        var ids = try shape.tokenize(pair, tokenizer: tokenizer, vocabulary: vocabulary, maxLength: maxLength)
        if kind == .discrete {
            for i in ids.indices where Int(ids[i]) >= vocabulary { ids[i] = triggers[Int(ids[i]) - vocabulary] }
        }
        return ids
    }

    /// The prompt stored in `directory`, or nil when it has none. `hidden` is the model's width.
    public static func load(from directory: URL, hidden: Int, vocabulary: Int) throws(ModelError) -> LearnedPrompt? {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        struct File: Decodable {
            var method: String
            var kind: Kind
            var before: Int
            var between: Int
            var after: Int
            var triggers: [Int32]?
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw .malformedConfig(path: url.path, reason: "not a learned prompt: \(error)")
        }
        let shape = ContinuousPrompt(before: file.before, between: file.between, after: file.after)
        guard shape.before >= 0, shape.between >= 0, shape.after >= 0, shape.triggerCount > 0, shape.triggerCount <= 256 else {
            throw .malformedConfig(path: url.path, reason: "trigger counts must be 0 or more, 1 to 256 in all")
        }
        switch file.kind {
        case .discrete:
            let triggers = file.triggers ?? []
            guard triggers.count == shape.triggerCount, triggers.allSatisfy({ $0 >= 0 && Int($0) < vocabulary }) else {
                throw .malformedConfig(path: url.path, reason: "a discrete prompt needs \(shape.triggerCount) trigger ids in 0..<\(vocabulary)")
            }
            return LearnedPrompt(method: file.method, kind: .discrete, shape: shape, triggers: triggers)
        case .continuous:
            let vectorsURL = directory.appendingPathComponent(vectorsFileName)
            let vectors: [Float]
            do {
                let tensors = try SafeTensorsFile(contentsOf: vectorsURL)
                vectors = try tensors.floats("vectors")
            } catch {
                throw .malformedConfig(path: vectorsURL.path, reason: "cannot read the prompt vectors: \(error)")
            }
            guard vectors.count == shape.triggerCount * hidden, vectors.allSatisfy(\.isFinite) else {
                throw .malformedConfig(path: vectorsURL.path,
                                       reason: "expected \(shape.triggerCount) × \(hidden) finite floats, found \(vectors.count) values")
            }
            return LearnedPrompt(method: file.method, kind: .continuous, shape: shape, vectors: vectors)
        }
    }

    /// Writes `prompt.json` (and `prompt.safetensors`) into `directory`, each atomically.
    public func write(to directory: URL, hidden: Int) throws {
        var object: [String: Any] = ["method": method, "kind": kind.rawValue,
                                     "before": shape.before, "between": shape.between, "after": shape.after]
        if kind == .discrete { object["triggers"] = triggers.map(Int.init) }
        let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        if kind == .continuous {
            var writer = SafeTensorsWriter()
            writer.metadata = ["method": method]
            try writer.add("vectors", shape: [shape.triggerCount, hidden], floats: vectors)
            try writer.write(to: directory.appendingPathComponent(Self.vectorsFileName))
        }
        try json.write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }
}
