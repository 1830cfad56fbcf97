import ArgumentParser

@main
struct Relbert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relbert",
        abstract: "Relation embeddings from BERT/RoBERTa encoders (RelBERT), in Swift.",
        subcommands: [Embed.self, Eval.self, Train.self, Bench.self, CoordinatorCommand.self, WorkerCommand.self,
                      Cluster.self, Keys.self, Submit.self, Jobs.self, Status.self, Cancel.self, Fetch.self,
                      Serve.self, Query.self, Prompt.self])
}
