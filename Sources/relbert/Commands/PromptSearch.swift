import ArgumentParser
import Foundation
import RelBERT

struct Prompt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learned prompts (the paper's AutoPrompt and P-tuning).",
        subcommands: [Search.self])
}

extension Prompt {
    struct Search: ParsableCommand {
        enum Method: String, ExpressibleByArgument, CaseIterable {
            case ptuning
            case autoprompt
        }

        static let configuration = CommandConfiguration(
            abstract: "Learn a prompt on the SemEval-2012 training relations with the language model frozen, and write a model folder that uses it.",
            discussion: """
            P-tuning: the trigger positions z1..zπ [h] zπ+1..zπ+τ [t] zπ+τ+1..zπ+τ+γ take vectors from a \
            prompt encoder (embedding → 2-layer BiLSTM → MLP) trained with the triplet loss and in-batch \
            negatives, average pooling. The output folder holds the base model's files, prompt.json and \
            prompt.safetensors (the encoder's output vectors); relbert embed and eval use the prompt \
            unchanged. AutoPrompt: the triggers are vocabulary tokens, starting as the mask token; each \
            iteration ranks candidates for one position by -E·∇ and keeps the first of the top \
            --candidates that lowers the loss over the training relations; it stops early when none does.
            """)

        @Option(help: "ptuning or autoprompt.") var method: Method = .ptuning
        @Option(help: "The base model folder.") var model = "models/all-MiniLM-L6-v2"
        @Option(help: "Where to write the model folder with the learned prompt.") var output: String
        @Option(name: .customLong("data-dir"), help: "Data folder holding semeval2012_task2/.") var dataDirectory = "data"
        @Option(help: "Trigger positions before the head word (π).") var before = 8
        @Option(help: "Trigger positions between the words (τ).") var between = 2
        @Option(help: "Trigger positions after the tail word (γ).") var after = 2
        @Option(help: "P-tuning: passes over the training relations.") var epochs = 5
        @Option(help: "AutoPrompt: trigger updates at most.") var iterations = 50
        @Option(help: "AutoPrompt: candidates tried per iteration (top k).") var candidates = 50
        @Option(name: .customLong("lr"), help: "Adam's learning rate for the prompt encoder.") var learningRate: Float = 1e-3
        @Option(name: .customLong("relations-per-batch")) var relationsPerBatch = 8
        @Option(name: .customLong("triplets-per-relation")) var tripletsPerRelation = 4
        @Option(help: "Seeds the prompt encoder and the triplet samples.") var seed: UInt64 = 0
        @Option(help: "OpenBLAS threads.") var threads: Int?
        @Option(name: .customLong("max-length")) var maxLength = 64

        func validate() throws {
            guard iterations > 0, candidates > 0 else { throw ValidationError("--iterations and --candidates must be positive") }
            guard before >= 0, between >= 0, after >= 0, before + between + after > 0, before + between + after <= 256 else {
                throw ValidationError("trigger counts must be 0 or more, 1 to 256 in all")
            }
            guard epochs > 0, learningRate > 0, learningRate.isFinite, relationsPerBatch > 0, tripletsPerRelation > 0 else {
                throw ValidationError("--epochs, --lr, --relations-per-batch and --triplets-per-relation must be positive")
            }
            if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        }

        func run() throws {
            let base = try PretrainedModel.load(from: URL(fileURLWithPath: model))
            let data = try SemEvalDataset.load(directory: URL(fileURLWithPath: dataDirectory).appendingPathComponent("semeval2012_task2"))
            if method == .autoprompt { return try runAutoPrompt(base: base, data: data) }
            var settings = PTuning.Settings()
            settings.prompt = ContinuousPrompt(before: before, between: between, after: after)
            settings.epochs = epochs
            settings.learningRate = learningRate
            settings.relationsPerBatch = relationsPerBatch
            settings.tripletsPerRelation = tripletsPerRelation
            settings.seed = seed
            settings.maxLength = maxLength
            settings.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
            let search = PTuning(settings: settings)
            let h = base.config.hiddenSize
            let initialLoss = try search.loss(model: base, relations: data.training, vectors: search.initialVectors(hidden: h))
            Log.line(String(format: "P-tuning %@ on %@: %d relations, loss %.4f before", settings.prompt.description,
                            model, data.training.count, initialLoss))
            let result = try search.run(model: base, relations: data.training) { progress in
                if progress.step % 10 == 0 || progress.step == progress.totalSteps {
                    Log.line(String(format: "step %d/%d loss %.4f", progress.step, progress.totalSteps, progress.loss))
                }
            }
            let finalLoss = try search.loss(model: base, relations: data.training, vectors: result.vectors)
            let validationBefore = try search.loss(model: base, relations: data.validation, vectors: search.initialVectors(hidden: h))
            let validationAfter = try search.loss(model: base, relations: data.validation, vectors: result.vectors)
            let prompt = LearnedPrompt(method: "ptuning", kind: .continuous, shape: settings.prompt, vectors: result.vectors)
            try Self.writeModel(base: base, prompt: prompt, to: URL(fileURLWithPath: output), report: [
                "method": "ptuning", "before": before, "between": between, "after": after, "epochs": epochs,
                "learning_rate": Double(learningRate), "relations_per_batch": relationsPerBatch,
                "triplets_per_relation": tripletsPerRelation, "seed": Int(seed), "steps": result.steps,
                "seconds": (result.seconds * 10).rounded() / 10, "threads": settings.threads,
                "training_loss_before": Double(initialLoss), "training_loss_after": Double(finalLoss),
                "validation_loss_before": Double(validationBefore), "validation_loss_after": Double(validationAfter),
                "loss_per_step": result.lossCurve.map(Double.init),
            ])
            var out = OutputStream()
            out.write(String(format: "learned %@ in %.0f s (%d steps): triplet loss on the training relations %.4f → %.4f, validation %.4f → %.4f",
                             settings.prompt.description, result.seconds, result.steps, initialLoss, finalLoss,
                             validationBefore, validationAfter))
            out.write("wrote \(output) (prompt \(prompt.templateText))")
            out.flush()
        }

        func runAutoPrompt(base: PretrainedModel, data: SemEvalDataset) throws {
            var settings = AutoPrompt.Settings()
            settings.prompt = ContinuousPrompt(before: before, between: between, after: after)
            settings.iterations = iterations
            settings.candidates = candidates
            settings.relationsPerBatch = relationsPerBatch
            settings.tripletsPerRelation = tripletsPerRelation
            settings.seed = seed
            settings.maxLength = maxLength
            settings.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
            let tokenizer = base.tokenizer
            let autoPrompt = AutoPrompt(settings: settings)
            let result = try autoPrompt.run(model: base, relations: data.training) { p in
                let token = p.token.map { "token \($0)" } ?? "no candidate lowers the loss: stopping"
                Log.line(String(format: "iteration %d, position %d: %@, loss %.4f", p.iteration, p.position, token, p.loss))
            }
            let prompt = LearnedPrompt(method: "autoprompt", kind: .discrete, shape: settings.prompt, triggers: result.triggers)
            // The validation relations under the same loss the search minimized.
            let search = PTuning(settings: autoPrompt.objectiveSettings)
            let start = [Int32](repeating: tokenizer.maskTokenID, count: settings.prompt.triggerCount)
            let validationBefore = try search.loss(model: base, relations: data.validation,
                                                   vectors: AutoPrompt.wordRows(start, model: base))
            let validationAfter = try search.loss(model: base, relations: data.validation,
                                                  vectors: AutoPrompt.wordRows(result.triggers, model: base))
            try Self.writeModel(base: base, prompt: prompt, to: URL(fileURLWithPath: output), report: [
                "method": "autoprompt", "before": before, "between": between, "after": after,
                "iterations": result.iterations, "candidates_per_iteration": candidates, "candidates_tried": result.candidatesTried,
                "relations_per_batch": relationsPerBatch, "triplets_per_relation": tripletsPerRelation, "seed": Int(seed),
                "seconds": (result.seconds * 10).rounded() / 10, "threads": settings.threads,
                "triggers": result.triggers.map(Int.init), "loss_after_each_update": result.lossCurve.map(Double.init),
                "validation_loss_before": Double(validationBefore), "validation_loss_after": Double(validationAfter),
            ])
            var out = OutputStream()
            out.write(String(format: "searched %@ in %.0f s (%d iterations, %d candidates tried): training loss %.4f → %.4f, validation %.4f → %.4f",
                             settings.prompt.description, result.seconds, result.iterations, result.candidatesTried,
                             result.lossCurve.first ?? 0, result.lossCurve.last ?? 0, validationBefore, validationAfter))
            out.write("triggers \(result.triggers.map(String.init).joined(separator: " "))")
            out.write("wrote \(output) (prompt \(prompt.templateText))")
            out.flush()
        }

        /// The base model's files with the learned prompt: written beside `folder` and renamed into place.
        static func writeModel(base: PretrainedModel, prompt: LearnedPrompt, to folder: URL, report: [String: Any]) throws {
            let manager = FileManager.default
            let partial = folder.deletingLastPathComponent().appendingPathComponent(".\(folder.lastPathComponent).partial")
            try? manager.removeItem(at: partial)
            try manager.createDirectory(at: partial, withIntermediateDirectories: true)
            let skipped: Set<String> = ["config.json", LearnedPrompt.fileName, LearnedPrompt.vectorsFileName, "prompt_search.json"]
            for name in try manager.contentsOfDirectory(atPath: base.directory.path) where !skipped.contains(name) && !name.hasPrefix(".") {
                try manager.copyItem(at: base.directory.appendingPathComponent(name), to: partial.appendingPathComponent(name))
            }
            var config = base.config
            config.relbert = RelBERTSettings(template: prompt.templateText, aggregationMode: Pooling.average.rawValue)
            let original = (try? JSONSerialization.jsonObject(with: base.originalConfigJSON)) as? [String: Any] ?? [:]
            try JSONSerialization.data(withJSONObject: config.jsonObject(mergingInto: original), options: [.prettyPrinted, .sortedKeys])
                .write(to: partial.appendingPathComponent("config.json"))
            try prompt.write(to: partial, hidden: base.config.hiddenSize)
            try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
                .write(to: partial.appendingPathComponent("prompt_search.json"))
            if manager.fileExists(atPath: folder.path) { try manager.removeItem(at: folder) }
            try manager.moveItem(at: partial, to: folder)
        }
    }
}
