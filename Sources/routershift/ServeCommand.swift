import ArgumentParser
import Foundation
import Logging
import Proxy
import RouterShiftConfiguration
import TraceExport

/// Options naming the configuration file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The configuration file.")
    var config = "routershift.yaml"

    func load() throws -> GatewayConfiguration {
        do {
            return try ConfigurationLoader.load(path: config)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    /// The configuration without requiring its secrets (provider keys, the master key), which commands
    /// working on the database alone do not use.
    func loadWithoutSecrets() throws -> GatewayConfiguration {
        do {
            return try ConfigurationLoader.load(path: config, secretsOptional: true)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    /// The database `configuration` (by default, the file's) names.
    func openStore(_ configuration: GatewayConfiguration? = nil) throws -> GatewayStore {
        try GatewayStore(path: (try configuration ?? loadWithoutSecrets()).databasePath)
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the gateway until SIGTERM or SIGINT; requests in flight finish first.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Override server.port.") var port: Int?

    func run() async throws {
        let (file, port) = (options.config, port)
        // What SIGHUP and POST /admin/config/reload read: the same file, with the same overrides.
        let source: ConfigurationSource = {
            var configuration = try ConfigurationLoader.load(path: file)
            if let port { configuration.server.port = port }
            return configuration
        }
        let configuration: GatewayConfiguration
        do {
            configuration = try source()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let logger = makeLogger(level: configuration.logging.level)
        let tracing = try configuration.telemetry.otlp.map { try OTLPTracing.make($0, logger: logger) }
        if let otlp = configuration.telemetry.otlp {
            logger.notice(
                "exporting traces", metadata: ["endpoint": "\(otlp.tracesURL)", "sample_rate": "\(otlp.sampleRate)"])
        }
        let gateway = try await Gateway(
            configuration: configuration, logger: logger, configurationSource: source, tracing: tracing)
        let models = configuration.models.count
        try await gateway.run { channel in
            logger.notice(
                "serving", metadata: ["address": "\(channel.localAddress?.description ?? "?")", "models": "\(models)"])
        }
    }
}

/// Logs as `level label: message key=value ...` on standard error, control characters escaped so that no
/// client value forges a line; never a secret (nothing logs one).
func makeLogger(level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: level) ?? .info
        return EscapingLogHandler(wrapping: handler)
    }
    return Logger(label: "routershift")
}
