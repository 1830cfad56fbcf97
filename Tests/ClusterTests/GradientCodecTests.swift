import Foundation
import RelBERT
import RelBERTCluster
import RelBERTProtocol
import XCTest

final class GradientCodecTests: XCTestCase {
    let config = ModelConfig(modelType: .bert, vocabSize: 50, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2,
                             intermediateSize: 16, maxPositionEmbeddings: 20, typeVocabSize: 2, layerNormEps: 1e-12, padTokenID: 0)

    func testSparseRowsAndDenseRestRoundTrip() throws {
        let layout = ParameterLayout(config: config)
        let codec = GradientCodec(config: config, layout: layout)
        let source = FloatBuffer(count: layout.totalCount)
        let afterWord = layout.wordEmbeddings + 50 * 8
        for i in afterWord ..< layout.totalCount { source.pointer[i] = Float(i % 97) * 0.01 - 0.3 }
        for row in [3, 17, 49] { for j in 0 ..< 8 { source.pointer[layout.wordEmbeddings + row * 8 + j] = Float(row) + Float(j) / 8 } }
        let (specs, frames) = codec.encode(source.pointer, rows: [49, 3, 17], bf16: false)
        XCTAssertEqual(specs.map(\.name), GradientCodec.tensorNames)
        XCTAssertEqual(frames[1].count, 3 * 8 * 4, "only the touched rows travel")

        let target = FloatBuffer(count: layout.totalCount)
        XCTAssertEqual(try codec.add(frames, specs: specs, into: target.pointer), [3, 17, 49])
        XCTAssertEqual(target.array(0 ..< layout.totalCount), source.array(0 ..< layout.totalCount))
        _ = try codec.add(frames, specs: specs, into: target.pointer)
        XCTAssertEqual(target.pointer[afterWord + 5], 2 * source.pointer[afterWord + 5])
        _ = try codec.add(frames, specs: specs, into: target.pointer, overwrite: true)
        XCTAssertEqual(target.array(0 ..< layout.totalCount), source.array(0 ..< layout.totalCount))

        let (halfSpecs, halfFrames) = codec.encode(source.pointer, rows: [3], bf16: true)
        XCTAssertEqual(halfFrames[3].count, (layout.totalCount - afterWord) * 2)
        let half = FloatBuffer(count: layout.totalCount)
        _ = try codec.add(halfFrames, specs: halfSpecs, into: half.pointer)
        for i in afterWord ..< layout.totalCount { XCTAssertEqual(half.pointer[i], source.pointer[i], accuracy: abs(source.pointer[i]) / 128) }
    }

    func testMalformedGradientsAreRefused() throws {
        let layout = ParameterLayout(config: config)
        let codec = GradientCodec(config: config, layout: layout)
        let source = FloatBuffer(count: layout.totalCount)
        var (specs, frames) = codec.encode(source.pointer, rows: [3, 4], bf16: false)
        let target = FloatBuffer(count: layout.totalCount)
        frames[0] = TensorFrames.int32s([4, 3])   // not increasing
        XCTAssertThrowsError(try codec.add(frames, specs: specs, into: target.pointer))
        frames[0] = TensorFrames.int32s([3, 50])  // outside the vocabulary
        XCTAssertThrowsError(try codec.add(frames, specs: specs, into: target.pointer))
        (specs, frames) = codec.encode(source.pointer, rows: [3], bf16: false)
        specs[3].shape = [1]
        XCTAssertThrowsError(try codec.add(frames, specs: specs, into: target.pointer))
    }

    func testChecksumSeesEveryBit() {
        let buffer = FloatBuffer(count: 1001)
        for i in 0 ..< 1001 { buffer.pointer[i] = Float(i) }
        let before = ParameterChecksum.of(buffer.pointer, count: 1001)
        buffer.pointer[1000] = Float(bitPattern: buffer.pointer[1000].bitPattern ^ 1)
        XCTAssertNotEqual(ParameterChecksum.of(buffer.pointer, count: 1001), before)
        buffer.pointer[1000] = 1000
        XCTAssertEqual(ParameterChecksum.of(buffer.pointer, count: 1001), before)
    }
}
