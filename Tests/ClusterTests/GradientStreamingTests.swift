import Foundation
import RelBERT
@testable import RelBERTCluster
import RelBERTProtocol
import XCTest
import ZeroMQ

/// worker.Backward with `stream`: a real worker replica of the tiny model sends one bucket per layer
/// while its backward pass runs, then the rest; the coordinator's ``GradientGather`` sums the parts
/// of three shards in whatever order they arrive into exactly the gradient the unstreamed replies give.
final class GradientStreamingTests: XCTestCase {
    static let tiny = ClusterTestPaths.tinyRoberta

    /// Three shards' sequences (distinct lengths and tokens, so the shards' gradients differ).
    let shards: [[[Int32]]] = [
        [[0, 5, 9, 14, 2], [0, 7, 7, 30, 41, 2]],
        [[0, 11, 2], [0, 52, 8, 19, 23, 17, 2]],
        [[0, 60, 61, 62, 2]],
    ]

    func replica(_ model: PretrainedModel) throws -> WorkerReplica {
        let (request, frames) = Relbert_V1_LoadRequest.weights(jobID: "job-1", model: model, pooling: .average,
                                                               parameters: model.parameters, checksum: 0)
        return try WorkerReplica(load: request, tensors: frames)
    }

    /// One shard's backward replies: the streamed buckets (if `stream`), then the final one.
    func backward(_ replica: WorkerReplica, _ sequences: [[Int32]], stream: Bool) throws -> [Envelope] {
        var forward = Relbert_V1_ForwardRequest()
        forward.jobID = "job-1"
        forward.step = 3
        let (specs, frames) = TokenBatchFrames.encode(TokenBatch(sequences: sequences))
        forward.tensors = specs
        _ = try replica.forward(forward, tensors: frames)
        let h = replica.config.hiddenSize
        let dEmbeddings = (0 ..< sequences.count * h).map { Float(($0 * 7) % 11) * 0.1 - 0.5 }
        var request = Relbert_V1_BackwardRequest()
        request.jobID = "job-1"
        request.step = 3
        request.stream = stream
        request.tensors = [TensorFrames.spec("d_embeddings", .f32, [sequences.count, h])]
        var header = Relbert_V1_Header()
        header.method = Method.backward
        header.requestID = 9
        var parts: [Envelope] = []
        let final = try dEmbeddings.withUnsafeBufferPointer { d in
            try replica.backward(request, tensors: [TensorFrames.floats(d.baseAddress!, count: d.count)]) { bucket in
                var part = Envelope.reply(to: header, bucket)
                part.header.moreFollows = true
                parts.append(part)
            }
        }
        return parts + [Envelope.reply(to: header, final)]
    }

    /// A gradient buffer whose every dense value is a sentinel: shard 0's parts must overwrite them.
    func target(_ count: Int, _ codec: GradientCodec) -> FloatBuffer {
        let buffer = FloatBuffer(count: count)
        buffer.pointer.update(repeating: 1e30, count: count)
        codec.clearRows(0 ..< Int32(codec.vocabulary), in: buffer.pointer)
        return buffer
    }

    func testStreamedPartsSumToTheUnstreamedGradientInAnyArrivalOrder() throws {
        let model = try PretrainedModel.load(from: Self.tiny)
        let layout = model.parameters.layout
        let codec = GradientCodec(config: model.config, layout: layout)
        let replicas = try shards.map { _ in try replica(model) }
        let whole = try zip(replicas, shards).map { try backward($0, $1, stream: false) }
        let streamed = try zip(replicas, shards).map { try backward($0, $1, stream: true) }
        let layers = model.config.numHiddenLayers
        XCTAssertGreaterThan(layers, 1)
        for parts in streamed {
            XCTAssertEqual(parts.count, layers + 1, "one bucket per layer, then the final reply")
            let offsets = try parts.dropLast().map { try $0.body(as: Relbert_V1_BackwardReply.self).bucketOffset }
            XCTAssertEqual(offsets, (0 ..< layers).reversed().map { UInt64(layout.layers[$0].queryKeyValueWeight) }, "last layer first")
        }
        for parts in whole { XCTAssertEqual(parts.count, 1) }

        // Unstreamed, in shard order: the reference.
        let reference = target(layout.totalCount, codec)
        var gather = GradientGather(codec: codec, target: reference.pointer, shards: 3, streamed: false)
        for (shard, parts) in whole.enumerated() { try gather.receive(parts[0], shard: shard) }
        XCTAssertTrue(gather.isComplete)
        let expected = reference.array()
        XCTAssertFalse(expected.contains(1e30), "every dense value was written")
        XCTAssertTrue(expected.contains { $0 != 0 })

        // Streamed, arriving last shard first, interleaved, or in order: the same bits.
        let orders: [[(Int, Int)]] = [
            (0 ... 2).reversed().flatMap { shard in (0 ... layers).map { (shard, $0) } },
            (0 ... layers).flatMap { index in [(2, index), (0, index), (1, index)] },
            (0 ... 2).flatMap { shard in (0 ... layers).map { (shard, $0) } },
        ]
        for order in orders {
            let buffer = target(layout.totalCount, codec)
            var gather = GradientGather(codec: codec, target: buffer.pointer, shards: 3, streamed: true)
            for (shard, index) in order {
                XCTAssertFalse(gather.isComplete)
                try gather.receive(streamed[shard][index], shard: shard)
            }
            XCTAssertTrue(gather.isComplete)
            XCTAssertEqual(buffer.array().map(\.bitPattern), expected.map(\.bitPattern))
            XCTAssertEqual(gather.touchedRows, Set(shards.joined().joined()))
        }
    }

    func testPartsOutOfPlaceAreRefusedWithTheirShard() throws {
        let model = try PretrainedModel.load(from: Self.tiny)
        let layout = model.parameters.layout
        let codec = GradientCodec(config: model.config, layout: layout)
        let replica = try replica(model)
        let streamed = try backward(replica, shards[0], stream: true)
        let whole = try backward(replica, shards[0], stream: false)
        let buffer = target(layout.totalCount, codec)
        func gather() -> GradientGather { GradientGather(codec: codec, target: buffer.pointer, shards: 2, streamed: true) }
        func refused(_ parts: [Envelope], shard: Int, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
            var g = gather()
            do {
                for part in parts { try g.receive(part, shard: shard) }
                XCTFail("accepted", file: file, line: line)
            } catch {
                XCTAssertEqual(error.shard, shard, file: file, line: line)
                XCTAssertTrue(error.error.message.contains(message), error.error.message, file: file, line: line)
            }
        }
        // The final reply before the buckets, or a bucket too many.
        refused([whole[0]], shard: 1, "ends it early")
        refused(Array(streamed.dropLast()) + [streamed[0]], shard: 0, "is another bucket")
        // A bucket that claims another layer's place, or has the wrong size.
        var moved = streamed[0]
        var body = try moved.body(as: Relbert_V1_BackwardReply.self)
        body.bucketOffset = UInt64(layout.layers[0].queryKeyValueWeight)
        moved.body = try body.serializedData()
        refused([moved], shard: 0, "starts at parameter")
        var short = streamed[0]
        short.tensors = [TensorFrames.floats([1, 2, 3], count: 3)]
        body = try short.body(as: Relbert_V1_BackwardReply.self)
        body.tensors[0].shape = [3]
        short.body = try body.serializedData()
        refused([short], shard: 0, "gradient bucket must be")
        // An unstreamed final reply where the streamed layout is due: its dense part is too long.
        refused(Array(streamed.dropLast()) + whole, shard: 0, "gradient shapes")
    }
}
