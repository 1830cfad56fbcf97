import RelBERT
import RelBERTProtocol
import ZeroMQ

/// The wire form of a gradient laid out like the parameters: the rows of the word table a step
/// touched (sparse: a step sees a few hundred of ~30k tokens) and every other parameter dense.
///
/// Tensors, in order: `word_rows` I32 [rows], `word_gradients` F32|BF16 [rows, hidden],
/// `dense_head` F32|BF16 [parameters before the word table], `dense` F32|BF16 [parameters after it].
public struct GradientCodec: Sendable {
    public static let tensorNames = ["word_rows", "word_gradients", "dense_head", "dense"]

    public let hidden: Int
    public let vocabulary: Int
    public let wordOffset: Int
    public let total: Int
    var afterWord: Int { wordOffset + vocabulary * hidden }

    public init(config: ModelConfig, layout: ParameterLayout) {
        hidden = config.hiddenSize
        vocabulary = config.vocabSize
        wordOffset = layout.wordEmbeddings
        total = layout.totalCount
    }

    /// Specs and frames of `gradients` with the word-table rows `rows`.
    public func encode(_ gradients: UnsafePointer<Float>, rows: [Int32], bf16: Bool) -> ([Relbert_V1_TensorSpec], [ZMQFrame]) {
        let dtype: Relbert_V1_DType = bf16 ? .bf16 : .f32
        let sorted = rows.sorted()
        let rowFrame = ZMQFrame(count: sorted.count * hidden * (bf16 ? 2 : 4)) { raw in
            if bf16 {
                let out = raw.bindMemory(to: UInt16.self)
                for (r, token) in sorted.enumerated() {
                    let source = gradients + wordOffset + Int(token) * hidden
                    for j in 0 ..< hidden { out[r * hidden + j] = Self.bf16Bits(source[j]) }
                }
            } else {
                let out = raw.bindMemory(to: Float.self).baseAddress!
                for (r, token) in sorted.enumerated() {
                    (out + r * hidden).update(from: gradients + wordOffset + Int(token) * hidden, count: hidden)
                }
            }
        }
        let head = wordOffset, tail = total - afterWord
        func dense(_ start: Int, _ count: Int) -> ZMQFrame {
            bf16 ? TensorFrames.bf16(gradients + start, count: count) : TensorFrames.floats(gradients + start, count: count)
        }
        let specs = [
            TensorFrames.spec("word_rows", .i32, [sorted.count]),
            TensorFrames.spec("word_gradients", dtype, [sorted.count, hidden]),
            TensorFrames.spec("dense_head", dtype, [head]),
            TensorFrames.spec("dense", dtype, [tail]),
        ]
        return (specs, [TensorFrames.int32s(sorted), rowFrame, dense(0, head), dense(afterWord, tail)])
    }

    /// Checks frames against this model's shapes: row ids in range and unique, sizes exact.
    public func validate(_ frames: [ZMQFrame], specs: [Relbert_V1_TensorSpec]) throws(ProtocolError) -> [Int32] {
        try TensorFrames.validate(frames, against: specs, expecting: Self.tensorNames, maxElements: total)
        let dtype = specs[1].dtype
        guard specs[0].dtype == .i32, dtype == .f32 || dtype == .bf16, specs[2].dtype == dtype, specs[3].dtype == dtype else {
            throw ProtocolError(.invalidArgument, "gradient tensors: word_rows must be I32 and the rest all F32 or all BF16")
        }
        let rows = TensorFrames.readInt32s(frames[0])
        guard specs[1].shape == [UInt64(rows.count), UInt64(hidden)],
              specs[2].shape == [UInt64(wordOffset)], specs[3].shape == [UInt64(total - afterWord)] else {
            throw ProtocolError(.invalidArgument, "gradient shapes \(specs.map(\.shape)) do not match the model (hidden \(hidden), \(total) parameters)")
        }
        var previous: Int32 = -1
        for row in rows {
            guard row > previous, Int(row) < vocabulary else {
                throw ProtocolError(.invalidArgument, "word_rows must be increasing ids below \(vocabulary); got \(row)")
            }
            previous = row
        }
        return rows
    }

    /// Adds validated gradient frames into `target` (laid out like the parameters); returns the rows.
    /// With `overwrite`, the values are copied instead: the same result when `target` is zero in the
    /// places the frames cover (0 + g = g exactly), one pass over memory cheaper.
    public func add(_ frames: [ZMQFrame], specs: [Relbert_V1_TensorSpec], into target: UnsafeMutablePointer<Float>,
                    overwrite: Bool = false) throws(ProtocolError) -> [Int32] {
        let rows = try validate(frames, specs: specs)
        let dtype = specs[1].dtype
        let size = dtype == .bf16 ? 2 : 4
        if !rows.isEmpty { frames[1].withUnsafeBytes { raw in
            for (r, token) in rows.enumerated() {
                let out = target + wordOffset + Int(token) * hidden
                if size == 2 {
                    for j in 0 ..< hidden {
                        let bits = UInt32(raw.loadUnaligned(fromByteOffset: (r * hidden + j) * 2, as: UInt16.self))
                        out[j] = (overwrite ? 0 : out[j]) + Float(bitPattern: bits << 16)
                    }
                } else {
                    let source = raw.baseAddress!.assumingMemoryBound(to: Float.self) + r * hidden
                    if overwrite {
                        out.update(from: source, count: hidden)
                    } else {
                        for j in 0 ..< hidden { out[j] += source[j] }
                    }
                }
            }
        } }
        if overwrite {
            TensorFrames.readFloats(frames[2], dtype: dtype, into: target, count: wordOffset)
            TensorFrames.readFloats(frames[3], dtype: dtype, into: target + afterWord, count: total - afterWord)
        } else {
            TensorFrames.addFloats(frames[2], dtype: dtype, into: target, count: wordOffset)
            TensorFrames.addFloats(frames[3], dtype: dtype, into: target + afterWord, count: total - afterWord)
        }
        return rows
    }

    /// Zeroes the given word-table rows of `target`.
    public func clearRows(_ rows: some Sequence<Int32>, in target: UnsafeMutablePointer<Float>) {
        for token in rows { (target + wordOffset + Int(token) * hidden).update(repeating: 0, count: hidden) }
    }

    static func bf16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
