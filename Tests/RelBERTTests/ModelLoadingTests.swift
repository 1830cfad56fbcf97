import Foundation
import RelBERT
import SafeTensors
import XCTest

/// Bad model folders give errors that name the file and tensor, never a crash.
final class ModelLoadingTests: XCTestCase {
    /// A copy of the tiny RoBERTa fixture that a test may damage.
    func copyOfTinyModel() throws -> URL {
        let dir = try TestPaths.temporaryDirectory()
        for name in ["config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: TestPaths.tinyRoberta.appendingPathComponent(name),
                                             to: dir.appendingPathComponent(name))
        }
        return dir
    }

    func editConfig(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    func loadError(_ dir: URL) -> ModelError? {
        do {
            _ = try PretrainedModel.load(from: dir)
            return nil
        } catch {
            return error
        }
    }

    func testLoadsBothArchitectures() throws {
        let bert = try PretrainedModel.load(from: TestPaths.defaultModel)
        XCTAssertEqual(bert.config.modelType, .bert)
        XCTAssertEqual(bert.config.hiddenSize, 384)
        XCTAssertEqual(bert.config.numHiddenLayers, 6)
        XCTAssertEqual(bert.parameters.layout.totalCount, 22_565_376) // the pooler and position_ids are not used
        let roberta = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        XCTAssertEqual(roberta.config.modelType, .roberta)
        XCTAssertEqual(roberta.config.firstPositionID, 2)
    }

    func testMissingFolderAndFiles() throws {
        XCTAssertEqual(loadError(URL(fileURLWithPath: "/nonexistent/model")), .missingFile(path: "/nonexistent/model"))
        let dir = try copyOfTinyModel()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(loadError(dir), .missingFile(path: dir.appendingPathComponent("model.safetensors").path))
    }

    func testUnknownModelType() throws {
        let dir = try copyOfTinyModel()
        try editConfig(dir) { $0["model_type"] = "gpt2" }
        XCTAssertEqual(loadError(dir), .unsupportedModelType(path: dir.appendingPathComponent("config.json").path, modelType: "gpt2"))
    }

    func testConfigThatDoesNotMatchTheWeights() throws {
        let dir = try copyOfTinyModel()
        try editConfig(dir) { $0["intermediate_size"] = 128 }
        let error = try XCTUnwrap(loadError(dir))
        guard case .tensorShapeMismatch(let path, let name, let expected, let found) = error else {
            return XCTFail("unexpected \(error)")
        }
        XCTAssertTrue(path.hasSuffix("model.safetensors"))
        XCTAssertEqual(name, "encoder.layer.0.intermediate.dense.weight")
        XCTAssertEqual(expected, [128, 32])
        XCTAssertEqual(found, [64, 32])
        XCTAssertTrue(error.description.contains("model.safetensors"))
    }

    func testMissingTensorIsNamed() throws {
        let dir = try copyOfTinyModel()
        try editConfig(dir) { $0["num_hidden_layers"] = 3 }
        XCTAssertEqual(loadError(dir), .missingTensor(path: dir.appendingPathComponent("model.safetensors").path,
                                                      name: "encoder.layer.2.attention.self.query.weight"))
    }

    func testTruncatedWeightsFile() throws {
        let dir = try copyOfTinyModel()
        let url = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        let error = try XCTUnwrap(loadError(dir))
        XCTAssertTrue(error.description.contains(url.path), error.description)
    }

    func testMalformedConfig() throws {
        let dir = try copyOfTinyModel()
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("config.json"))
        guard case .malformedConfig = try XCTUnwrap(loadError(dir)) else { return XCTFail() }
        try editConfig2(dir, ["model_type": "bert", "hidden_size": 30, "num_attention_heads": 4])
        XCTAssertTrue(try XCTUnwrap(loadError(dir)).description.contains("multiple"))
    }

    private func editConfig2(_ dir: URL, _ overrides: [String: Any]) throws {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.tinyRoberta.appendingPathComponent("config.json"))) as! [String: Any]
        for (k, v) in overrides { json[k] = v }
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
    }

    func testHalfPrecisionWeightsLoad() throws {
        // Rewrite the tiny model in BF16 and F16 and check the encoder still agrees closely with F32.
        let original = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        for dtype in [DType.BF16, DType.F16] {
            let dir = try copyOfTinyModel()
            var writer = SafeTensorsWriter()
            for tensor in original.parameters.layout.tensors {
                try writer.add("roberta." + tensor.name, shape: tensor.shape,
                               floats: UnsafeBufferPointer(start: original.parameters.pointer + tensor.offset, count: tensor.count),
                               as: dtype)
            }
            try writer.write(to: dir.appendingPathComponent("model.safetensors"))
            let reloaded = try PretrainedModel.load(from: dir)
            let a = original.parameters.storage.array(), b = reloaded.parameters.storage.array()
            let worst = zip(a, b).map { abs($0 - $1) / max(abs($0), 1e-3) }.max() ?? 1
            XCTAssertLessThan(worst, dtype == .BF16 ? 1e-2 : 1e-3, "\(dtype)")
            XCTAssertNotEqual(a, b, "\(dtype) rounding must change something")
        }
    }
}
