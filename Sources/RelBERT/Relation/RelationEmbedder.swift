import Dispatch
import Foundation
import Tokenizers

/// Relation embeddings for word pairs: prompt → tokens → encoder → pooling.
///
/// A batch is split into one shard per thread (balanced by token count); each shard runs the whole
/// encoder on its own thread with OpenBLAS single-threaded, so the elementwise work is parallel too and
/// no thread waits on another inside a layer.
public final class RelationEmbedder: @unchecked Sendable {
    public let model: PretrainedModel
    public let template: PromptTemplate
    public let pooling: Pooling
    public let maxLength: Int
    public let threads: Int
    /// A learned prompt, used instead of `template` (which then only describes it).
    public let learnedPrompt: LearnedPrompt?
    private let workspaces: [EncoderActivations]

    /// The embedder of a model's learned prompt (`model.prompt`), with `pooling`.
    public convenience init(model: PretrainedModel, learnedPrompt: LearnedPrompt, pooling: Pooling,
                            maxLength: Int = 64, threads: Int = 1) throws(EmbeddingError) {
        guard pooling != .mask else { throw .templateWithoutMask(template: learnedPrompt.templateText) }
        // The description is a valid custom template by construction (it has <subj> and <obj>).
        let described = (try? PromptTemplate(learnedPrompt.templateText)) ?? PromptTemplate.default
        try self.init(model: model, template: described, pooling: pooling, maxLength: maxLength, threads: threads,
                      learnedPrompt: learnedPrompt)
    }

    public init(model: PretrainedModel, template: PromptTemplate, pooling: Pooling,
                maxLength: Int = 64, threads: Int = 1, learnedPrompt: LearnedPrompt? = nil) throws(EmbeddingError) {
        self.learnedPrompt = learnedPrompt
        if pooling == .mask, !template.hasMask || learnedPrompt != nil {
            throw .templateWithoutMask(template: template.text)
        }
        guard maxLength >= 3 else { throw .invalidMaxLength(maxLength) }
        self.model = model
        self.template = template
        self.pooling = pooling
        self.maxLength = min(maxLength, model.config.maxSequenceLength)
        self.threads = max(1, threads)
        // Parallelism comes from shards, one per thread; OpenBLAS itself must stay single-threaded
        // (its default is one thread per core, which would oversubscribe the cores).
        BLAS.setThreads(1)
        self.workspaces = (0 ..< max(1, threads)).map { _ in
            EncoderActivations(config: model.config, keepsAllLayers: false)
        }
    }

    public var dimension: Int { model.config.hiddenSize }

    /// The filled prompt for a pair.
    public func prompt(for pair: WordPair) -> String {
        if let learnedPrompt { return learnedPrompt.shape.text(for: pair, maskToken: model.tokenizer.maskToken) }
        return template.fill(pair, maskToken: model.tokenizer.maskToken)
    }

    /// Token ids of a pair's prompt (with special tokens, truncated to `maxLength`).
    public func tokenize(_ pair: WordPair) throws(EmbeddingError) -> [Int32] {
        try Self.validate(pair)
        if let learnedPrompt {
            return try learnedPrompt.tokenize(pair, tokenizer: model.tokenizer, vocabulary: model.config.vocabSize, maxLength: maxLength)
        }
        return model.tokenizer.encode(prompt(for: pair), maxLength: maxLength).ids
    }

    static func validate(_ pair: WordPair) throws(EmbeddingError) {
        if pair.head.allSatisfy(\.isWhitespace) || pair.tail.allSatisfy(\.isWhitespace) {
            throw .emptyWord(pair)
        }
    }

    /// Embeds every pair, in order, `batchSize` prompts at a time. Returns `[pairs.count, H]`.
    public func embed(_ pairs: [WordPair], batchSize: Int = 64) throws(EmbeddingError) -> EmbeddingMatrix {
        let sequences = try pairs.map { (pair) throws(EmbeddingError) in try tokenize(pair) }
        var result = EmbeddingMatrix(rows: pairs.count, dimension: dimension)
        let step = max(1, batchSize)
        var first = 0
        while first < sequences.count {
            let last = min(first + step, sequences.count)
            let batch = TokenBatch(sequences: Array(sequences[first ..< last]))
            try result.values.withUnsafeMutableBufferPointer { (out) throws(EmbeddingError) in
                try embed(batch, into: out.baseAddress! + first * dimension, pairs: pairs, offset: first)
            }
            first = last
        }
        return result
    }

    /// Embeds a tokenized batch into `out` (`[sequences, H]`).
    public func embed(_ batch: TokenBatch, into out: UnsafeMutablePointer<Float>) throws(EmbeddingError) {
        try embed(batch, into: out, pairs: nil, offset: 0)
    }

    private func embed(_ batch: TokenBatch, into out: UnsafeMutablePointer<Float>,
                       pairs: [WordPair]?, offset: Int) throws(EmbeddingError) {
        let shards = batch.balancedSplit(into: threads)
        let failures = FailureBox()
        let output = SendablePointer(out)
        let run: @Sendable (Int) -> Void = { (index: Int) in
            let range = shards[index]
            let shard = batch.slice(range)
            let activations = self.workspaces[index]
            if let prompt = self.learnedPrompt, prompt.kind == .continuous {
                prompt.vectors.withUnsafeBufferPointer { vectors in
                    self.model.encoder.forward(shard, activations: activations, promptVectors: vectors.baseAddress)
                }
            } else {
                self.model.encoder.forward(shard, activations: activations)
            }
            let states = activations.lastHiddenState.pointer
            for s in 0 ..< shard.sequenceCount {
                let ok = self.pooling.pool(states: states + shard.starts[s] * self.dimension,
                                           tokenIDs: shard.sequence(s),
                                           maskTokenID: self.model.tokenizer.maskTokenID,
                                           hidden: self.dimension,
                                           out: output.pointer + (range.lowerBound + s) * self.dimension)
                if !ok { failures.record(range.lowerBound + s) }
            }
        }
        if shards.count == 1 {
            run(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: shards.count, execute: run)
        }
        if let row = failures.first {
            throw .maskTruncated(pairs.map { $0[offset + row].description } ?? "sequence \(row)")
        }
    }
}

/// A row-major `[rows, dimension]` matrix of embeddings.
public struct EmbeddingMatrix: Sendable, Equatable {
    public let rows: Int
    public let dimension: Int
    public var values: [Float]

    public init(rows: Int, dimension: Int) {
        self.rows = rows
        self.dimension = dimension
        self.values = [Float](repeating: 0, count: rows * dimension)
    }

    public func row(_ index: Int) -> ArraySlice<Float> {
        values[index * dimension ..< (index + 1) * dimension]
    }
}

public enum EmbeddingError: Error, CustomStringConvertible, Equatable {
    case emptyWord(WordPair)
    case templateWithoutMask(template: String)
    case maskTruncated(String)
    case invalidMaxLength(Int)
    case triggerTruncated(String)
    case wordContainsMask(WordPair)

    public var description: String {
        switch self {
        case .emptyWord(let pair): return "empty word in pair \(pair)"
        case .templateWithoutMask(let template): return "pooling 'mask' needs a template with <mask>: \"\(template)\""
        case .maskTruncated(let what): return "the prompt for \(what) was truncated before its mask token; pooling 'mask' cannot use it (a longer --max-length, or another pooling, can)"
        case .invalidMaxLength(let n): return "max length \(n) is too small (at least 3)"
        case .triggerTruncated(let what): return "the prompt for \(what) was truncated before its last trigger (a longer --max-length can)"
        case .wordContainsMask(let pair): return "pair \(pair) contains the mask token, which marks trigger positions"
        }
    }
}

/// A raw pointer handed to worker threads that write disjoint rows of it.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

/// Collects the first failing row from concurrent shards.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var rows: [Int] = []
    func record(_ row: Int) { lock.withLock { rows.append(row) } }
    var first: Int? { lock.withLock { rows.min() } }
}
