import ArgumentParser
import Embedding
import Foundation

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the embedding of a text with the local model, for debugging.")

    @Argument(help: "The text to embed.") var text: String
    @OptionGroup var model: ModelOptions
    @Flag(help: "Also print the token ids.") var tokens = false

    func run() async throws {
        let embedder = try LocalEmbedder(files: ModelFiles(directory: model.directory))
        if tokens { print("tokens: \(embedder.tokenizer.encode(text))") }
        let vector = try await embedder.embed([text])[0]
        print("[" + vector.map { String(format: "%.6f", $0) }.joined(separator: ", ") + "]")
    }
}
