import ArgumentParser

@main
struct RouterShift: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routershift",
        abstract: "A self-hosted LLM gateway with a semantic cache.",
        subcommands: [ModelCommand.self, EmbedCommand.self]
    )
}

/// Where to find the local embedding model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Directory holding model.safetensors, vocab.txt and config.json.")
    var modelDir = "data/models/all-MiniLM-L6-v2"
}
