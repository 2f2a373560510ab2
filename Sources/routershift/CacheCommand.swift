import ArgumentParser
import Embedding
import Foundation
import Logging
import Proxy
import RouterShiftConfiguration

struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect, purge, export, import and tune the semantic cache.",
        discussion: """
            Commands that change the cache go through the running gateway's admin API when it answers on the \
            configured address, and work on the database directly when it does not.
            """,
        subcommands: [Stats.self, Purge.self, Export.self, Import.self, Bench.self, TrainVerifier.self])

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Entries, exact and semantic hits, misses, hit rate, tokens and cost saved, lookup latency.")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let configuration = try options.load()
            let report = try SemanticCache.report(try GatewayStore(path: configuration.databasePath).database)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            func ms(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "-" }
            printTable(
                ["figure", "value"],
                [
                    ["entries", "\(report.entries) (\(report.indexedEntries) in the semantic index)"],
                    ["encoder", report.encoder ?? "-"],
                    [
                        "bytes per entry (token states, index node)",
                        report.entryBytes.map {
                            String(
                                format: "%.0f (%.0f, %.0f)", $0, report.tokenStateBytes ?? 0,
                                report.indexNodeBytes ?? 0)
                        } ?? "-",
                    ],
                    ["exact hits", "\(report.exactHits)"], ["semantic hits", "\(report.semanticHits)"],
                    ["misses", "\(report.misses)"],
                    ["hit rate", String(format: "%.1f%%", report.hitRate * 100)],
                    ["tokens saved", "\(report.tokensSaved)"],
                    ["cost saved", String(format: "$%.4f", report.costSaved)],
                    [
                        "lookup latency p50 / p99",
                        "\(ms(report.lookupMillisecondsP50)) / \(ms(report.lookupMillisecondsP99))",
                    ],
                    [
                        "verifier per candidate p50 / p99",
                        "\(ms(report.verifierMillisecondsP50)) / \(ms(report.verifierMillisecondsP99))",
                    ],
                    ["candidates verified", "\(report.verifications)"],
                ])
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove entries: all, one, by model, scope or age, or near a prompt.")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Every entry.") var all = false
        @Option(help: "The entry with this id (x-routershift-cache-key).") var id: Int64?
        @Option(help: "Entries of this model.") var model: String?
        @Option(help: "Entries of this scope.") var scope: String?
        @Option(help: "Entries created longer ago than this (e.g. 7d, 12h, 3600).") var olderThan: String?
        @Option(help: "Entries whose prompt is near this one.") var near: String?
        @Option(help: "Similarity for --near (default: the configured threshold).") var threshold: Double?

        func run() async throws {
            var body: JSONValue
            if all {
                body = ["all": true]
            } else if let id {
                body = ["id": .integer(id)]
            } else if let model {
                body = ["model": .string(model)]
            } else if let scope {
                body = ["scope": .string(scope)]
            } else if let olderThan {
                body = ["older_than": .string(olderThan)]
            } else if let near {
                body = ["near": .string(near)]
                if let threshold { body = ["near": .string(near), "threshold": .number(threshold)] }
            } else {
                throw ValidationError("say what to purge: --all, --id, --model, --scope, --older-than or --near")
            }
            let configuration = try options.load()
            if let admin = await CacheCommand.runningGateway(configuration) {
                let answer = try await admin.send("/admin/cache/purge", method: .POST, body: body.serialized())
                print("purged through the running gateway: \(answer.body)")
                return
            }
            let selection: CachePurge
            if all {
                selection = .all
            } else if let id {
                selection = .id(id)
            } else if let model {
                selection = .model(model)
            } else if let scope {
                selection = .scope(scope)
            } else if let olderThan {
                guard let seconds = ConfigurationLoader.parseDuration(olderThan) else {
                    throw ValidationError("--older-than: not a duration such as 7d, 12h or 3600")
                }
                selection = .olderThan(seconds)
            } else {
                selection = .near(prompt: near!, threshold: threshold ?? configuration.cache.threshold)
            }
            let purged = try await CacheCommand.withLocalCache(configuration, withEmbedder: near != nil) { cache in
                try await cache.purge(selection)
            }
            print("purged \(purged) entries")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every entry as JSON Lines.")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Include each entry's vector.") var vectors = false
        @Option(name: .shortAndLong, help: "The file to write (default: standard output).") var output: String?

        func run() async throws {
            let configuration = try options.load()
            var text = ""
            if let admin = await CacheCommand.runningGateway(configuration) {
                text = try await admin.send("/admin/cache/export?vectors=\(vectors)", method: .GET, body: nil).body
            } else {
                text = try await CacheCommand.withLocalCache(configuration, withEmbedder: false) { cache in
                    var lines = ""
                    _ = try cache.export(includeVectors: vectors) { lines += $0 + "\n" }
                    return lines
                }
            }
            if let output {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
                FileHandle.standardError.write(
                    Data("exported \(text.utf8.count { $0 == UInt8(ascii: "\n") }) entries to \(output)\n".utf8))
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read entries written by export; entries without vectors are embedded again.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "The JSON Lines file.") var file: String

        func run() async throws {
            let configuration = try options.load()
            let text = try String(contentsOfFile: file, encoding: .utf8)
            // Split on bytes: splitting a String of hundreds of megabytes by Character costs minutes.
            let lines = text.utf8.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
            if let admin = await CacheCommand.runningGateway(configuration) {
                FileHandle.standardError.write(
                    Data("importing \(lines.count) entries through the running gateway...\n".utf8))
                print(try await admin.send("/admin/cache/import", method: .POST, body: Array(text.utf8)).body)
                return
            }
            let progress = Progress(total: lines.count, label: "importing")
            let (imported, skipped) = try await CacheCommand.withLocalCache(configuration, withEmbedder: true) {
                try await $0.importEntries(lines) { progress.update($0) }
            }
            progress.finish()
            print("imported \(imported) entries, skipped \(skipped) already present")
        }
    }

    /// The running gateway's admin API, if it answers on the configured address.
    static func runningGateway(_ configuration: GatewayConfiguration) async -> AdminClient? {
        guard let key = configuration.server.masterKey else { return nil }
        let admin = AdminClient(host: configuration.server.host, port: configuration.server.port, masterKey: key)
        return await admin.isReachable() ? admin : nil
    }

    /// `body` on the cache opened directly on the database, for when no gateway runs. Without `withEmbedder`
    /// the embedding model is not loaded (nor needed on the machine): only what embeds text asks for it. The
    /// HTTP client a remote embedder would use is shut down on every path.
    static func withLocalCache<T>(
        _ configuration: GatewayConfiguration, withEmbedder: Bool, _ body: (SemanticCache) async throws -> T
    ) async throws -> T {
        let store = try GatewayStore(path: configuration.databasePath)
        // What the command changed in the index is copied to its snapshot, for the gateway's next start.
        var logger = Logger(label: "routershift.cache")
        logger.logLevel = .warning
        guard withEmbedder, configuration.cache.semantic else {
            let cache = try SemanticCache.openWithoutEmbedder(settings: configuration.cache, store: store)
            let result = try await body(cache)
            cache.saveIndexSnapshot(logger: logger)
            return result
        }
        let client = UpstreamClient()
        do {
            let cache = try SemanticCache(
                settings: configuration.cache, store: store,
                embedder: try CacheEmbedder.make(
                    configuration.cache.embedder, client: client,
                    indexed: try SemanticCache.indexedPrecision(in: store)))
            let result = try await body(cache)
            cache.saveIndexSnapshot(logger: logger)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// A progress line on a terminal, updated in place; silent when standard error is not a terminal.
final class Progress {
    private let total: Int
    private let label: String
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var shown = -1

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func update(_ done: Int) {
        guard isTerminal, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != shown else { return }
        shown = percent
        FileHandle.standardError.write(Data("\r\(label) \(done)/\(total) (\(percent)%)".utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
