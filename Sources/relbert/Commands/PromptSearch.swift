import ArgumentParser
import Foundation
import RelBERT
import RelBERTCluster
import RelBERTProtocol

struct Prompt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learned prompts (the paper's AutoPrompt and P-tuning).",
        subcommands: [Search.self])
}

extension Prompt {
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn a prompt on the SemEval-2012 training relations with the language model frozen, and write a model folder that uses it.",
            discussion: """
            P-tuning: the trigger positions z1..zπ [h] zπ+1..zπ+τ [t] zπ+τ+1..zπ+τ+γ take vectors from a \
            prompt encoder (embedding → 2-layer BiLSTM → MLP) trained with the triplet loss and in-batch \
            negatives, average pooling. The output folder holds the base model's files, prompt.json and \
            prompt.safetensors (the encoder's output vectors); relbert embed and eval use the prompt \
            unchanged. AutoPrompt: the triggers are vocabulary tokens, starting as the mask token; each \
            iteration ranks candidates for one position by -E·∇ and keeps the first of the top \
            --candidates that lowers the loss over the training relations; it stops early when none does. \
            Every combination of --before, --between and --after is searched (default: the paper's grid, \
            π ∈ {8, 9}, τ and γ ∈ {2, 3}) and the prompt with the lowest validation loss is kept. \
            --workers N runs it on a local cluster, --coordinator queues it as a job (relbert status, fetch).
            """)

        @Option(help: "ptuning or autoprompt.") var method: PromptSearchSpec.Method = .ptuning
        @Option(help: "The base model folder.") var model = "models/all-MiniLM-L6-v2"
        @Option(help: "Where to write the model folder with the learned prompt (not with --coordinator: fetch the job's model).") var output: String?
        @Option(name: .customLong("data-dir"), help: "Data folder holding semeval2012_task2/.") var dataDirectory = "data"
        @Option(help: "Trigger positions before the head word (π), one count or a comma list to search.") var before = "8,9"
        @Option(help: "Trigger positions between the words (τ), one or a comma list.") var between = "2,3"
        @Option(help: "Trigger positions after the tail word (γ), one or a comma list.") var after = "2,3"
        @Option(help: "P-tuning: passes over the training relations.") var epochs = 5
        @Option(help: "AutoPrompt: trigger updates at most.") var iterations = 50
        @Option(help: "AutoPrompt: candidates tried per iteration (top k).") var candidates = 50
        @Option(name: .customLong("lr"), help: "Adam's learning rate for the prompt encoder.") var learningRate: Float = 1e-3
        @Option(name: .customLong("relations-per-batch")) var relationsPerBatch = 8
        @Option(name: .customLong("triplets-per-relation")) var tripletsPerRelation = 4
        @Option(help: "Seeds the prompt encoder and the triplet samples.") var seed: UInt64 = 0
        @Option(help: "OpenBLAS threads (one process).") var threads: Int?
        @Option(name: .customLong("max-length")) var maxLength = 64
        @Option(help: "Run the search on a local cluster of N worker processes (one thread each), as a job of an in-process coordinator.")
        var workers: Int?
        @Option(help: "Submit the search as a job to this coordinator and print its id (model and data are paths on its machine).")
        var coordinator: String?
        @Option(name: .customLong("idempotency-key"), help: "With --coordinator: a retried submit with the same key returns the first job's id.")
        var idempotencyKey: String?
        @OptionGroup var keys: ClientKeyOptions

        static func counts(_ text: String, _ name: String) throws -> [Int] {
            let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--\(name) takes counts of 0 or more, separated by commas ('\(text)')")
            }
            return values.map { $0! }
        }

        func spec() throws -> PromptSearchSpec {
            var spec = PromptSearchSpec()
            spec.method = method
            let b = try Self.counts(before, "before"), i = try Self.counts(between, "between"), a = try Self.counts(after, "after")
            spec.shapes = b.flatMap { before in i.flatMap { between in a.map { ContinuousPrompt(before: before, between: between, after: $0) } } }
            spec.epochs = epochs
            spec.iterations = iterations
            spec.candidates = candidates
            spec.learningRate = learningRate
            spec.relationsPerBatch = relationsPerBatch
            spec.tripletsPerRelation = tripletsPerRelation
            spec.seed = seed
            spec.maxLength = maxLength
            return spec
        }

        func validate() throws {
            do { try spec().validate() } catch let error as TrainingError { throw ValidationError(error.description) }
            if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
            if let workers, !(1 ... 64).contains(workers) { throw ValidationError("--workers must be 1...64") }
            if coordinator == nil, output == nil { throw ValidationError("--output is required (unless --coordinator)") }
            if coordinator != nil, workers != nil { throw ValidationError("--coordinator and --workers exclude each other") }
        }

        func run() throws {
            let spec = try spec()
            if let coordinator { return try submit(spec, to: coordinator) }
            let output = self.output!
            if let workers { return try onLocalCluster(spec, workers: workers, output: output) }
            let base = try PretrainedModel.load(from: URL(fileURLWithPath: model))
            let data = try SemEvalDataset.load(directory: URL(fileURLWithPath: dataDirectory).appendingPathComponent("semeval2012_task2"))
            let search = PromptSearchRun(spec: spec, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
            Log.line("\(method.rawValue) on \(model): \(spec.shapes.count) prompt shape(s) \(spec.shapes.map(\.description).joined(separator: " ")), \(data.training.count) relations")
            let outcome = try search.run(base: base, data: data, objective: nil) { progress in
                if spec.method == .autoprompt || progress.step % 10 == 0 { Log.line(progress.message) }
            }
            try PromptSearchRun.writeModel(base: base, prompt: outcome.best.prompt, report: search.report(outcome, workers: nil),
                                           to: URL(fileURLWithPath: output))
            try Self.summarize(output)
        }

        /// What every way of running prints, read back from the model folder it wrote (`prompt_search.json`
        /// and the prompt named in `config.json`): each shape's figures, then the one kept.
        static func summarize(_ output: String) throws {
            let folder = URL(fileURLWithPath: output)
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("prompt_search.json"))) as? [String: Any] ?? [:]
            let config = try ModelConfig.parse(Data(contentsOf: folder.appendingPathComponent("config.json")), source: folder.path + "/config.json")
            func int(_ entry: [String: Any], _ key: String) -> Int { entry[key] as? Int ?? 0 }
            func real(_ entry: [String: Any], _ key: String) -> Double { entry[key] as? Double ?? .nan }
            func shape(_ entry: [String: Any]) -> String { "\(int(entry, "before"))/\(int(entry, "between"))/\(int(entry, "after"))" }
            let discrete = report["method"] as? String == PromptSearchSpec.Method.autoprompt.rawValue
            let grid = report["grid"] as? [[String: Any]] ?? []
            var out = OutputStream()
            for entry in grid {
                var line = String(format: "%@ %@ in %.0f s (%d %@", discrete ? "searched" : "learned", shape(entry), real(entry, "seconds"),
                                  int(entry, discrete ? "iterations" : "steps"), discrete ? "iterations" : "steps")
                if discrete { line += ", \(int(entry, "candidates_tried")) candidates tried" }
                line += String(format: "): triplet loss on the training relations %.4f → %.4f, validation %.4f → %.4f",
                               real(entry, "training_loss_before"), real(entry, "training_loss_after"),
                               real(entry, "validation_loss_before"), real(entry, "validation_loss_after"))
                out.write(line)
            }
            if grid.count > 1 {
                var line = String(format: "kept %@ (lowest validation loss %.4f); all shapes in %.0f s", shape(report),
                                  real(report, "validation_loss_after"), real(report, "seconds_all_shapes"))
                if let workers = report["workers"] as? Int { line += " on \(workers) worker(s)" }
                out.write(line)
            }
            if discrete { out.write("triggers " + (report["triggers"] as? [Int] ?? []).map(String.init).joined(separator: " ")) }
            out.write("wrote \(output) (prompt \(config.relbert?.template ?? "?"))")
            out.flush()
        }

        /// The search as a job of an in-process coordinator over `workers` local worker processes.
        func onLocalCluster(_ spec: PromptSearchSpec, workers: Int, output: String) throws {
            try LocalCluster.run(workers: workers) { coordinator in
                let (job, _) = try coordinator.submit(configuration: TrainingConfiguration(), promptSearch: spec,
                                                      modelDirectory: LocalCluster.absolute(model),
                                                      dataDirectory: LocalCluster.absolute(dataDirectory),
                                                      output: LocalCluster.absolute(output) + ".job")
                Log.line("\(method.rawValue) on \(model): \(spec.shapes.count) prompt shape(s), \(workers) local worker(s) at \(coordinator.endpoint)")
                var reported = 0
                coordinator.progressObserver = { record in
                    guard record.id == job.id, record.step >= reported + (spec.method == .autoprompt ? 1 : 10) else { return }
                    reported = record.step
                    Log.line(String(format: "step %d/%d loss %.4f", record.step, record.totalSteps, record.loss))
                }
                try coordinator.run(until: { coordinator.job(job.id)?.isFinished ?? true })
                let record = coordinator.job(job.id)
                guard record?.state == .succeeded else {
                    throw CLIError("the prompt search \(record?.state.rawValue ?? "vanished"): \(record?.error ?? "")")
                }
            }
            // The job wrote OUTPUT.job/model; the folder asked for is that model.
            let manager = FileManager.default
            let jobFolder = URL(fileURLWithPath: output + ".job")
            if manager.fileExists(atPath: output) { try manager.removeItem(atPath: output) }
            try manager.moveItem(at: jobFolder.appendingPathComponent("model"), to: URL(fileURLWithPath: output))
            try? manager.removeItem(at: jobFolder)
            try Self.summarize(output)
        }

        func submit(_ spec: PromptSearchSpec, to coordinator: String) throws {
            var request = Relbert_V1_SubmitRequest()
            request.promptSearchJson = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
            request.modelDirectory = LocalCluster.absolute(model)
            request.dataDirectory = LocalCluster.absolute(dataDirectory)
            request.idempotencyKey = idempotencyKey ?? UUID().uuidString
            let client = try ClusterClient(endpoint: coordinator)
            client.curve = try keys.keys()
            let reply = try client.call(Method.submit, request).body(as: Relbert_V1_SubmitReply.self)
            print(reply.jobID)
        }
    }
}

extension PromptSearchSpec.Method: ExpressibleByArgument {}
