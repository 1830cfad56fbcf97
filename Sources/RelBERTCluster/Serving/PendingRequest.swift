import Foundation
import RelBERT
import RelBERTProtocol

/// A client's serve.* request while the workers embed its pairs: the pairs, their tokens for the
/// served model, the rows filled so far and where its time went.
final class PendingRequest {
    enum Kind {
        case embed
        case analogy
        case nearest(k: Int)
        case health
    }

    let key: UInt64
    let identity: [UInt8]
    let header: Relbert_V1_Header
    let kind: Kind
    let arrived = ContinuousClock.now
    let pairs: [WordPair]
    private let templateName: String
    private let poolingName: String

    private(set) var pooling = Pooling.average
    private(set) var sequences: [[Int32]] = []
    /// The model generation the tokens are for.
    private(set) var generation: UInt64 = 0
    var vectors: [Float] = []
    private(set) var dimension = 0
    /// Pairs whose vector has not arrived.
    var remaining = 0
    /// The next pair no batch has carried, and pairs to carry again (their worker was lost).
    private var next = 0
    private var redo: [Int] = []
    var tokenizeSeconds = 0.0
    var computeSeconds = 0.0
    var lastDispatched: ContinuousClock.Instant?

    init(key: UInt64, identity: [UInt8], header: Relbert_V1_Header, kind: Kind, pairs: [WordPair],
         template: String = "", pooling: String = "") {
        self.key = key
        self.identity = identity
        self.header = header
        self.kind = kind
        self.pairs = pairs
        self.templateName = template
        self.poolingName = pooling
    }

    /// True once a batch has carried one of its pairs (it will be answered by that model).
    var started: Bool { next > 0 }
    var hasUndispatched: Bool { !redo.isEmpty || next < pairs.count }

    var deadline: Date? {
        header.deadlineUnixMs == 0 ? nil : Date(timeIntervalSince1970: Double(header.deadlineUnixMs) / 1000)
    }

    /// Tokenizes every pair for `model` (again, after a swap), and clears what was computed.
    func prepare(for model: ServedModel, generation: UInt64) throws(ProtocolError) {
        let started = ContinuousClock.now
        let (prompt, pooling) = try model.resolve(template: templateName, pooling: poolingName)
        self.pooling = pooling
        sequences = try pairs.map { (pair) throws(ProtocolError) in try model.tokenize(pair, prompt: prompt, pooling: pooling) }
        self.generation = generation
        dimension = model.dimension
        vectors = [Float](repeating: 0, count: pairs.count * dimension)
        remaining = pairs.count
        next = 0
        redo = []
        tokenizeSeconds = (ContinuousClock.now - started).secondsValue
    }

    /// The next pair to carry, if its tokens fit in `budget` (a batch takes at least one).
    func takePair(budget: Int) -> Int? {
        let candidate = redo.last ?? (next < pairs.count ? next : nil)
        guard let pair = candidate, sequences[pair].count <= budget else { return nil }
        if redo.last != nil { redo.removeLast() } else { next += 1 }
        return pair
    }

    func giveBack(_ pair: Int) { redo.append(pair) }

    func store(pair: Int, vector: UnsafePointer<Float>) {
        vectors.withUnsafeMutableBufferPointer { v in
            (v.baseAddress! + pair * dimension).update(from: vector, count: dimension)
        }
        remaining -= 1
    }

    func vector(_ pair: Int) -> ArraySlice<Float> { vectors[pair * dimension ..< (pair + 1) * dimension] }
}
