import Foundation
import SafeTensors

/// Model folders in the Hugging Face layout that `relbert embed`/`eval` and transformers load, and
/// resumable training checkpoints (the same plus optimizer moments and the trainer's position).
///
/// A folder is written whole or not at all: into a temporary sibling first (every file fsynced), then
/// renamed into place; the previous version is moved aside and removed only after the rename.
public enum Checkpoint {
    public static let tokenizerFiles = ["vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                        "special_tokens_map.json", "vocab.json", "merges.txt"]

    /// Where a run stands: enough to continue exactly as if it had not stopped.
    public struct TrainerState: Codable, Sendable, Equatable {
        /// Steps completed (the next step to run).
        public var step: Int
        public var totalSteps: Int
        public var seed: UInt64
        public var threads: Int
    }

    /// Writes a model folder: weights, config (with `relbert_config`), tokenizer files,
    /// `finetuning_config.json`, and, for a resumable checkpoint, optimizer state and trainer state.
    public static func write(to directory: URL, model: PretrainedModel, parameters: Parameters,
                             configuration: TrainingConfiguration, optimizer: AdamW? = nil,
                             state: TrainerState? = nil) throws(TrainingError) {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let temporary = partialURL(of: directory)
        let previous = previousURL(of: directory)
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try? fm.removeItem(at: temporary)
            try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
        } catch {
            throw .checkpoint("cannot create \(temporary.path): \(error.localizedDescription)")
        }
        do {
            try writeContents(to: temporary, model: model, parameters: parameters, configuration: configuration,
                              optimizer: optimizer, state: state)
        } catch {
            try? fm.removeItem(at: temporary)
            throw error
        }
        // Swap into place.
        let hadPrevious = fm.fileExists(atPath: directory.path)
        do {
            if hadPrevious { try fm.moveItem(at: directory, to: previous) }
            try fm.moveItem(at: temporary, to: directory)
            syncDirectory(parent)
            if hadPrevious { try? fm.removeItem(at: previous) }
        } catch {
            if hadPrevious, !fm.fileExists(atPath: directory.path) { try? fm.moveItem(at: previous, to: directory) }
            try? fm.removeItem(at: temporary)
            throw .checkpoint("cannot move the new checkpoint into \(directory.path): \(error.localizedDescription)")
        }
    }

    private static func writeContents(to folder: URL, model: PretrainedModel, parameters: Parameters,
                                      configuration: TrainingConfiguration, optimizer: AdamW?,
                                      state: TrainerState?) throws(TrainingError) {
        var writer = SafeTensorsWriter()
        writer.metadata = ["format": "pt"]
        do {
            for tensor in parameters.layout.tensors {
                try writer.add(tensor.name, shape: tensor.shape,
                               floats: UnsafeBufferPointer(start: parameters.pointer + tensor.offset, count: tensor.count))
            }
            try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        } catch {
            throw .checkpoint(error.description)
        }
        // config.json: the original fields, ours on top.
        var config = model.config
        let learned = configuration.template == TrainingConfiguration.learnedTemplate ? model.prompt : nil
        config.relbert = RelBERTSettings(template: learned?.templateText ?? (try? PromptTemplate(configuration.template))?.text ?? configuration.template,
                                         aggregationMode: configuration.pooling)
        if let learned {
            do {
                try learned.write(to: folder, hidden: model.config.hiddenSize)
            } catch {
                throw .checkpoint("cannot write the learned prompt into \(folder.path): \(error)")
            }
        }
        let original = (try? JSONSerialization.jsonObject(with: model.originalConfigJSON)) as? [String: Any] ?? [:]
        try writeJSON(config.jsonObject(mergingInto: original), to: folder.appendingPathComponent("config.json"))
        try writeEncodable(configuration, to: folder.appendingPathComponent("finetuning_config.json"))
        for name in tokenizerFiles {
            let source = model.directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path) else { continue }
            do {
                try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent(name))
            } catch {
                throw .checkpoint("cannot copy \(source.path): \(error.localizedDescription)")
            }
        }
        if let optimizer, let state {
            var moments = SafeTensorsWriter()
            moments.metadata = ["step": "\(optimizer.step)"]
            do {
                try moments.add("exp_avg", shape: [optimizer.firstMoment.count],
                                floats: UnsafeBufferPointer(optimizer.firstMoment.buffer))
                try moments.add("exp_avg_sq", shape: [optimizer.secondMoment.count],
                                floats: UnsafeBufferPointer(optimizer.secondMoment.buffer))
                try moments.write(to: folder.appendingPathComponent("optimizer.safetensors"))
            } catch {
                throw .checkpoint(error.description)
            }
            try writeEncodable(state, to: folder.appendingPathComponent("trainer_state.json"))
        }
    }

    /// The sibling a new version is written into before it is renamed into place.
    static func partialURL(of directory: URL) -> URL {
        directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).partial")
    }

    /// The sibling the old version waits in between the two renames of a swap.
    static func previousURL(of directory: URL) -> URL {
        directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).previous")
    }

    /// Repairs what a process killed during `write` can leave: a half-written `.partial` (removed), and
    /// an old version moved aside whose replacement never arrived (moved back).
    public static func recover(_ directory: URL) {
        let fm = FileManager.default
        try? fm.removeItem(at: partialURL(of: directory))
        let previous = previousURL(of: directory)
        guard fm.fileExists(atPath: previous.path) else { return }
        if fm.fileExists(atPath: directory.path) {
            try? fm.removeItem(at: previous)
        } else {
            try? fm.moveItem(at: previous, to: directory)
        }
    }

    /// Reads the optimizer moments and trainer state of a checkpoint folder.
    public static func readTrainingState(from folder: URL, into optimizer: AdamW) throws(TrainingError) -> TrainerState {
        let stateURL = folder.appendingPathComponent("trainer_state.json")
        guard let data = FileManager.default.contents(atPath: stateURL.path),
              let state = try? JSONDecoder().decode(TrainerState.self, from: data) else {
            throw .checkpoint("\(stateURL.path): missing or unreadable")
        }
        do {
            let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("optimizer.safetensors"))
            let m = try file.floats("exp_avg"), v = try file.floats("exp_avg_sq")
            guard m.count == optimizer.firstMoment.count, v.count == optimizer.secondMoment.count else {
                throw TrainingError.checkpoint("\(folder.path): optimizer state does not match the model's size")
            }
            guard let step = file.metadata["step"].flatMap(Int.init) else {
                throw TrainingError.checkpoint("\(folder.path)/optimizer.safetensors: no step in its metadata")
            }
            optimizer.restore(step: step, first: m, second: v)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .checkpoint("\(folder.path): \(error)")
        }
        return state
    }

    static func writeJSON(_ object: Any, to url: URL) throws(TrainingError) {
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try write(data, to: url)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .checkpoint("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    static func writeEncodable<T: Encodable>(_ value: T, to url: URL) throws(TrainingError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try write(try encoder.encode(value), to: url)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .checkpoint("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// Writes and fsyncs a small file (inside a folder that is renamed into place afterwards).
    static func write(_ data: Data, to url: URL) throws(TrainingError) {
        guard FileManager.default.createFile(atPath: url.path, contents: data) else {
            throw .checkpoint("cannot write \(url.path) (\(String(cString: strerror(errno))))")
        }
        let fd = open(url.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
