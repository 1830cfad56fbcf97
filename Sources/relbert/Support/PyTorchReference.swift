import Foundation
import RelBERT

/// The PyTorch figure a benchmark compares against: measured in this run when a python with torch is
/// given, else the anchors measured on this kind of machine (../shared/anchors/README.md, copied to
/// docs/benchmarks.md).
struct PyTorchReference {
    let pairsPerSecond: Double
    let source: String

    /// PyTorch 2.x CPU, transformers 5.24, all-MiniLM-L6-v2, template a, batch 64, 28 tokens padded.
    static let inferenceAnchors: [Int: Double] = [1: 120, 2: 256]
    /// Training sequences/s (forward + backward + AdamW, 96 sequences, triplet loss).
    static let trainingAnchors: [Int: Double] = [1: 39, 2: 66]

    static func inference(threads: Int, batchSize: Int, pairs: [WordPair], python: String?, seconds: Double,
                          modelDirectory: String) -> PyTorchReference? {
        if let python {
            if let measured = measure(python: python, threads: threads, batchSize: batchSize, pairs: pairs, seconds: seconds,
                                      modelDirectory: modelDirectory) {
                return PyTorchReference(pairsPerSecond: measured, source: "measured in this run")
            }
            FileHandle.standardError.write(Data("bench: PyTorch measurement failed; using the anchor figures\n".utf8))
        }
        return inferenceAnchors[threads].map { PyTorchReference(pairsPerSecond: $0, source: "anchor") }
    }

    static func training(threads: Int, python: String?, seconds: Double, pairs: [WordPair],
                         modelDirectory: String) -> PyTorchReference? {
        if let python {
            if let measured = run(python: python, arguments: ["--mode", "train", "--threads", "\(threads)",
                                                              "--seconds", "\(seconds)"],
                                  pairs: pairs, modelDirectory: modelDirectory, key: "sequences_per_s") {
                return PyTorchReference(pairsPerSecond: measured, source: "measured in this run")
            }
            FileHandle.standardError.write(Data("bench: PyTorch measurement failed; using the anchor figures\n".utf8))
        }
        return trainingAnchors[threads].map { PyTorchReference(pairsPerSecond: $0, source: "anchor") }
    }

    private static func measure(python: String, threads: Int, batchSize: Int, pairs: [WordPair], seconds: Double,
                                modelDirectory: String) -> Double? {
        run(python: python, arguments: ["--threads", "\(threads)", "--batch-size", "\(batchSize)", "--seconds", "\(seconds)"],
            pairs: pairs, modelDirectory: modelDirectory, key: "pairs_per_s")
    }

    private static func run(python: String, arguments: [String], pairs: [WordPair], modelDirectory: String,
                            key: String) -> Double? {
        let script = URL(fileURLWithPath: "scripts/bench_pytorch.py")
        guard FileManager.default.fileExists(atPath: script.path) else { return nil }
        let pairFile = FileManager.default.temporaryDirectory.appendingPathComponent("relbert-bench-\(getpid()).tsv")
        defer { try? FileManager.default.removeItem(at: pairFile) }
        let text = pairs.map { "\($0.head)\t\($0.tail)" }.joined(separator: "\n") + "\n"
        guard (try? text.write(to: pairFile, atomically: true, encoding: .utf8)) != nil else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, "--model", modelDirectory, "--pairs", pairFile.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let value = (object[key] as? NSNumber)?.doubleValue else { return nil }
        return value
    }
}
