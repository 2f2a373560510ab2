import ArgumentParser
import Foundation
import Proxy
import RouterShiftConfiguration

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
    @Option(
        help: """
            Directory holding model.safetensors, vocab.txt and config.json (default: models/all-MiniLM-L6-v2 in \
            $ROUTERSHIFT_HOME, else $XDG_DATA_HOME/routershift, else ~/.local/share/routershift).
            """)
    var modelDir: String?

    /// The directory given, or the per-user one.
    var directory: URL { URL(fileURLWithPath: modelDir ?? DataHome.modelDirectory()) }
}
