import ArgumentParser

@main
struct RouterShift: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routershift",
        abstract: "A self-hosted LLM gateway with a semantic cache.",
        subcommands: [
            ServeCommand.self, ConfigCommand.self, KeysCommand.self, StatsCommand.self, LogsCommand.self,
            CacheCommand.self, ModelCommand.self, EmbedCommand.self,
            MockUpstreamCommand.self,
        ]
    )
}

/// Where to find the local embedding model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Directory holding model.safetensors, vocab.txt and config.json.")
    var modelDir = "data/models/all-MiniLM-L6-v2"
}
