import ArgumentParser
import Foundation
import Logging
import MockUpstream

struct MockUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-upstream",
        abstract:
            "Run a fake provider speaking the OpenAI, Anthropic and Gemini APIs, for trials, tests and benchmarks.",
        discussion: """
            Faults apply to a share of requests (--error-rate, --hang-rate, --disconnect-rate) or to chosen ones: a model \
            name directive (mock@fail500, mock@status429, mock@hang, mock@latency250, mock@disconnect) or a header \
            (x-mock-status, x-mock-latency-ms, x-mock-hang: 1, x-mock-disconnect: 1, x-mock-retry-after).
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one and prints it).") var port = 4010
    @Option(help: "Added latency in milliseconds.") var latencyMs: Double = 0
    @Option(help: "Delay between stream chunks in milliseconds.") var chunkDelayMs: Double = 0
    @Option(help: "Share of requests answered with --error-status.") var errorRate: Double = 0
    @Option(help: "Status of injected errors.") var errorStatus = 500
    @Option(help: "Share of requests that never answer.") var hangRate: Double = 0
    @Option(help: "Share of streams cut off midway.") var disconnectRate: Double = 0
    @Option(help: "Key requests must present (default: any).") var apiKey: String?
    @Option(help: "Seed of the fault dice.") var seed: UInt64 = 1

    func run() async throws {
        var options = MockOptions()
        options.latencyMilliseconds = latencyMs
        options.chunkDelayMilliseconds = chunkDelayMs
        options.errorRate = errorRate
        options.errorStatus = errorStatus
        options.hangRate = hangRate
        options.disconnectRate = disconnectRate
        options.apiKey = apiKey
        options.seed = seed
        var logger = Logger(label: "routershift.mock")
        logger.logLevel = .warning
        let host = host
        try await MockUpstreamServer(options: options).run(host: host, port: port, logger: logger) { bound in
            // Unbuffered, so a parent process reading a pipe learns the port at once.
            FileHandle.standardOutput.write(Data("mock upstream listening on http://\(host):\(bound)\n".utf8))
        }
    }
}
