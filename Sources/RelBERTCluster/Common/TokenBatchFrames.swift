import RelBERT
import RelBERTProtocol
import ZeroMQ

/// The token frames of worker.Forward and worker.Embed: "token_ids" I32 [tokens] (the sequences back
/// to back) and "lengths" I32 [sequences], checked against the model's vocabulary and length limit.
enum TokenBatchFrames {
    /// `tokenLimit`: ids must be below it (the vocabulary, plus the trigger ids of a continuous prompt).
    static func batch(_ tensors: [ZMQFrame], specs: [Relbert_V1_TensorSpec], config: ModelConfig, tokenLimit: Int,
                      method: String) throws(ProtocolError) -> TokenBatch {
        try TensorFrames.validate(tensors, against: specs, expecting: ["token_ids", "lengths"], maxElements: 1 << 22)
        guard specs.allSatisfy({ $0.dtype == .i32 && $0.shape.count == 1 }) else {
            throw ProtocolError(.invalidArgument, "\(method): token_ids and lengths must be I32 vectors")
        }
        let ids = TensorFrames.readInt32s(tensors[0])
        let lengths = TensorFrames.readInt32s(tensors[1])
        var sequences: [[Int32]] = []
        sequences.reserveCapacity(lengths.count)
        var start = 0
        for length in lengths {
            guard length >= 1, Int(length) <= config.maxSequenceLength, start + Int(length) <= ids.count else {
                throw ProtocolError(.invalidArgument, "\(method): sequence lengths must be 1...\(config.maxSequenceLength) and add up to the token count")
            }
            sequences.append(Array(ids[start ..< start + Int(length)]))
            start += Int(length)
        }
        guard start == ids.count, !sequences.isEmpty else {
            throw ProtocolError(.invalidArgument, "\(method): lengths add up to \(start), token_ids has \(ids.count)")
        }
        guard ids.allSatisfy({ $0 >= 0 && Int($0) < tokenLimit }) else {
            throw ProtocolError(.invalidArgument, "\(method): token ids must be in 0..<\(tokenLimit)")
        }
        return TokenBatch(sequences: sequences)
    }

    /// A worker.Forward's frames: the two token frames, and a "prompt_vectors" frame when a third
    /// comes (checked: F32 [1...256, H], finite), which widens the token ids by its rows.
    static func batchWithPrompt(_ tensors: [ZMQFrame], specs: [Relbert_V1_TensorSpec], config: ModelConfig, tokenLimit: Int,
                                method: String) throws(ProtocolError) -> (TokenBatch, [Float]?) {
        guard specs.count == 3, tensors.count == 3, specs[2].name == LoadedWeights.promptVectorsName else {
            return (try batch(tensors, specs: specs, config: config, tokenLimit: tokenLimit, method: method), nil)
        }
        let vectors = try LoadedWeights.promptVectors(specs[2], tensors[2], hidden: config.hiddenSize)
        let tokens = try batch(Array(tensors.prefix(2)), specs: Array(specs.prefix(2)), config: config,
                               tokenLimit: config.vocabSize + vectors.count / config.hiddenSize, method: method)
        return (tokens, vectors)
    }

    /// The two frames (and their specs) for a batch.
    static func encode(_ batch: TokenBatch) -> (specs: [Relbert_V1_TensorSpec], frames: [ZMQFrame]) {
        let lengths = (0 ..< batch.sequenceCount).map { Int32(batch.length(of: $0)) }
        return ([TensorFrames.spec("token_ids", .i32, [batch.tokenCount]), TensorFrames.spec("lengths", .i32, [lengths.count])],
                [TensorFrames.int32s(batch.tokenIDs), TensorFrames.int32s(lengths)])
    }
}
