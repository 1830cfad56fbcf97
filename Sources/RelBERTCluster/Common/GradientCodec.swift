import RelBERT
import RelBERTProtocol
import ZeroMQ

/// The wire form of a gradient laid out like the parameters: the rows of the word table a step
/// touched (sparse: a step sees a few hundred of ~30k tokens) and every other parameter dense.
///
/// Tensors, in order: `word_rows` I32 [rows], `word_gradients` F32|BF16 [rows, hidden],
/// `dense_head` F32|BF16 [parameters before the word table], `dense` F32|BF16 [parameters after it].
///
/// A streamed gradient (worker.Backward with `stream`) first travels as one bucket per encoder layer,
/// a single `dense` tensor each, last layer first; the four tensors then carry the rest, their `dense`
/// ending where layer 0 starts (`streamed: true` below).
public struct GradientCodec: Sendable {
    public static let tensorNames = ["word_rows", "word_gradients", "dense_head", "dense"]

    public let hidden: Int
    public let vocabulary: Int
    public let wordOffset: Int
    public let total: Int
    /// Where each encoder layer's parameters start (they are contiguous, layer after layer, to the end).
    public let layerStarts: [Int]
    var afterWord: Int { wordOffset + vocabulary * hidden }
    /// Where the four-tensor layout's `dense` ends: the end of the parameters, or where the layer
    /// buckets of a streamed gradient begin.
    func denseEnd(streamed: Bool) -> Int { streamed ? layerStarts.first ?? total : total }

    /// Layer `l`'s parameters: one bucket of a streamed gradient.
    public func layerRange(_ l: Int) -> Range<Int> {
        layerStarts[l] ..< (l + 1 < layerStarts.count ? layerStarts[l + 1] : total)
    }

    public init(config: ModelConfig, layout: ParameterLayout) {
        hidden = config.hiddenSize
        vocabulary = config.vocabSize
        wordOffset = layout.wordEmbeddings
        total = layout.totalCount
        layerStarts = layout.layers.map(\.queryKeyValueWeight)
    }

    /// Specs and frames of `gradients` with the word-table rows `rows`.
    /// `streamed`: the layers went ahead as buckets (``encodeLayer(_:layer:bf16:)``); `dense` stops where they begin.
    public func encode(_ gradients: UnsafePointer<Float>, rows: [Int32], bf16: Bool,
                       streamed: Bool = false) -> ([Relbert_V1_TensorSpec], [ZMQFrame]) {
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
        let head = wordOffset, tail = denseEnd(streamed: streamed) - afterWord
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

    /// One bucket of a streamed gradient: layer `layer`'s parameters as the tensor `dense`.
    public func encodeLayer(_ gradients: UnsafePointer<Float>, layer: Int, bf16: Bool) -> (Relbert_V1_TensorSpec, ZMQFrame) {
        let range = layerRange(layer)
        let frame = bf16 ? TensorFrames.bf16(gradients + range.lowerBound, count: range.count)
                         : TensorFrames.floats(gradients + range.lowerBound, count: range.count)
        return (TensorFrames.spec("dense", bf16 ? .bf16 : .f32, [range.count]), frame)
    }

    /// Adds (or with `overwrite` copies) a validated layer bucket into `target`.
    public func addLayer(_ frames: [ZMQFrame], specs: [Relbert_V1_TensorSpec], layer: Int,
                         into target: UnsafeMutablePointer<Float>, overwrite: Bool) throws(ProtocolError) {
        let range = layerRange(layer)
        try TensorFrames.validate(frames, against: specs, expecting: ["dense"], maxElements: range.count)
        let dtype = specs[0].dtype
        guard dtype == .f32 || dtype == .bf16, specs[0].shape == [UInt64(range.count)] else {
            throw ProtocolError(.invalidArgument, "layer \(layer)'s gradient bucket must be F32 or BF16 [\(range.count)]; got \(specs[0].dtype) \(specs[0].shape)")
        }
        if overwrite {
            TensorFrames.readFloats(frames[0], dtype: dtype, into: target + range.lowerBound, count: range.count)
        } else {
            TensorFrames.addFloats(frames[0], dtype: dtype, into: target + range.lowerBound, count: range.count)
        }
    }

    /// Checks frames against this model's shapes: row ids in range and unique, sizes exact.
    public func validate(_ frames: [ZMQFrame], specs: [Relbert_V1_TensorSpec], streamed: Bool = false) throws(ProtocolError) -> [Int32] {
        try TensorFrames.validate(frames, against: specs, expecting: Self.tensorNames, maxElements: total)
        let dtype = specs[1].dtype
        guard specs[0].dtype == .i32, dtype == .f32 || dtype == .bf16, specs[2].dtype == dtype, specs[3].dtype == dtype else {
            throw ProtocolError(.invalidArgument, "gradient tensors: word_rows must be I32 and the rest all F32 or all BF16")
        }
        let rows = TensorFrames.readInt32s(frames[0])
        guard specs[1].shape == [UInt64(rows.count), UInt64(hidden)],
              specs[2].shape == [UInt64(wordOffset)], specs[3].shape == [UInt64(denseEnd(streamed: streamed) - afterWord)] else {
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
                    overwrite: Bool = false, streamed: Bool = false) throws(ProtocolError) -> [Int32] {
        let rows = try validate(frames, specs: specs, streamed: streamed)
        let end = denseEnd(streamed: streamed)
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
            TensorFrames.readFloats(frames[3], dtype: dtype, into: target + afterWord, count: end - afterWord)
        } else {
            TensorFrames.addFloats(frames[2], dtype: dtype, into: target, count: wordOffset)
            TensorFrames.addFloats(frames[3], dtype: dtype, into: target + afterWord, count: end - afterWord)
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
