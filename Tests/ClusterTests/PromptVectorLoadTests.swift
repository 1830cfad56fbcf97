import Foundation
import RelBERT
@testable import RelBERTCluster
import RelBERTProtocol
import XCTest
import ZeroMQ

/// worker.Load with a continuous learned prompt: the "prompt_vectors" frame lets a worker read token
/// ids past the vocabulary, no further; a frame of the wrong shape or with non-finite values is refused.
final class PromptVectorLoadTests: XCTestCase {
    static let tiny = ClusterTestPaths.tinyRoberta

    func model(triggers: Int) throws -> PretrainedModel {
        var model = try PretrainedModel.load(from: Self.tiny)
        let h = model.config.hiddenSize
        model.prompt = LearnedPrompt(method: "ptuning", kind: .continuous, shape: ContinuousPrompt(before: triggers - 1, between: 1, after: 0),
                                     vectors: (0 ..< triggers * h).map { Float($0 % 13) * 0.05 - 0.3 })
        return model
    }

    func load(_ model: PretrainedModel, edit: (inout Relbert_V1_LoadRequest, inout [ZMQFrame]) -> Void = { _, _ in }) throws(ProtocolError) -> InferenceReplica {
        var (request, frames) = Relbert_V1_LoadRequest.weights(jobID: "serve-1", model: model, pooling: .average,
                                                               parameters: model.parameters, checksum: 0)
        request.inference = true
        request.appendPromptVectors(of: model, to: &frames)
        edit(&request, &frames)
        return try InferenceReplica(load: request, tensors: frames)
    }

    func embed(_ replica: InferenceReplica, ids: [Int32]) throws(ProtocolError) -> Envelope.Parts {
        var request = Relbert_V1_WorkerEmbedRequest()
        request.jobID = replica.jobID
        request.pooling = "average"
        let (specs, frames) = TokenBatchFrames.encode(TokenBatch(sequences: [ids]))
        request.tensors = specs
        return try replica.embed(request, tensors: frames)
    }

    func testPromptVectorsWidenTheTokenRangeByTheirCount() throws {
        let model = try model(triggers: 3)
        let vocabulary = Int32(model.config.vocabSize)
        let replica = try load(model)
        XCTAssertEqual(replica.tokenLimit, Int(vocabulary) + 3)
        // The vectors are what the ids read: the worker's embedding equals the library's.
        let ids: [Int32] = [0, vocabulary, 5, vocabulary + 1, 6, vocabulary + 2, 2]
        let parts = try embed(replica, ids: ids)
        let served = FloatBuffer(count: model.config.hiddenSize)
        TensorFrames.readFloats(parts.tensors[0], dtype: .f32, into: served.pointer, count: served.count)
        let activations = EncoderActivations(config: model.config, keepsAllLayers: false)
        let batch = TokenBatch(sequences: [ids])
        model.prompt!.vectors.withUnsafeBufferPointer { model.encoder.forward(batch, activations: activations, promptVectors: $0.baseAddress) }
        let expected = FloatBuffer(count: model.config.hiddenSize)
        _ = Pooling.average.pool(batch: batch, states: activations.lastHiddenState.pointer, maskTokenID: model.tokenizer.maskTokenID,
                                 hidden: model.config.hiddenSize, out: expected.pointer)
        XCTAssertEqual(served.array(), expected.array())
        XCTAssertThrowsError(try embed(replica, ids: [0, vocabulary + 3, 2])) { error in
            XCTAssertEqual((error as? ProtocolError)?.status, .invalidArgument)
        }
        // Without the frame the vocabulary is the limit.
        var plain = model
        plain.prompt = nil
        XCTAssertThrowsError(try embed(try load(plain), ids: [0, vocabulary, 2]))
    }

    func testMalformedPromptVectorsAreRefused() throws {
        let model = try model(triggers: 2)
        let h = model.config.hiddenSize
        let edits: [(String, (inout Relbert_V1_LoadRequest, inout [ZMQFrame]) -> Void)] = [
            ("wrong width", { request, frames in
                request.tensors[request.tensors.count - 1] = TensorFrames.spec("prompt_vectors", .f32, [1, 2 * h])
            }),
            ("not finite", { _, frames in
                var values = [Float](repeating: 0, count: 2 * h)
                values[h + 1] = .nan
                frames[frames.count - 1] = values.withUnsafeBufferPointer { TensorFrames.floats($0.baseAddress!, count: $0.count) }
            }),
            ("bf16", { request, _ in request.tensors[request.tensors.count - 1].dtype = .bf16 }),
            ("too many rows", { request, frames in
                request.tensors[request.tensors.count - 1] = TensorFrames.spec("prompt_vectors", .f32, [257, h])
                frames[frames.count - 1] = ZMQFrame([UInt8](repeating: 0, count: 257 * h * 4))
            }),
        ]
        for (name, edit) in edits {
            XCTAssertThrowsError(try load(model, edit: edit), name) { error in
                XCTAssertNotNil(error as? ProtocolError, name); XCTAssertTrue("\(error)".contains("prompt_vectors"), "\(name): \(error)")
            }
        }
    }
}
