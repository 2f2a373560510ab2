import AsyncHTTPClient
import Foundation
import Logging
import MockUpstream
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Synchronization
import Tracing

@testable import Proxy
@testable import RouterShiftConfiguration

/// A mock upstream and a gateway in front of it, both serving on ephemeral loopback ports for the length
/// of `body`, and an HTTP client to call the gateway with.
struct LiveGateway {
    let baseURL: String
    /// The admin listener's base URL, when `server.admin` is configured.
    let adminURL: String?
    let mockURL: String
    let gateway: Gateway
    let client: HTTPClient
    /// The file the gateway reloads (SIGHUP, `POST /admin/config/reload`); ``writeConfiguration(_:)`` replaces it.
    let configurationFile: URL
    static let masterKey = "sk-master-test-0001"

    /// - Parameter configure: edits the gateway configuration; `MOCK` in base URLs is the mock's address.
    /// - Parameter directory: where the database lives; a fresh temporary one by default (then removed).
    /// - Parameter trusting: a PEM CA file the client trusts, for a gateway serving HTTPS.
    /// - Parameter clock: the gateway's clock; the system's by default, a ``ManualClock`` to move time by hand.
    /// - Parameter tracer: records the gateway's request spans (an `InMemoryTracer`); none by default.
    static func run<Result: Sendable>(
        mock options: MockOptions = MockOptions(), yaml: String, directory: URL? = nil, trusting: String? = nil,
        clock: any GatewayClock = SystemClock(), tracer: (any Tracer)? = nil,
        _ body: @Sendable (LiveGateway) async throws -> Result
    ) async throws -> Result {
        let logger = {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            return logger
        }()
        let isTemporary = directory == nil
        let directory =
            directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if isTemporary { try? FileManager.default.removeItem(at: directory) } }

        return try await withThrowingTaskGroup(of: Void.self) { group in
            let mockPort = Ports()
            group.addTask {
                try await MockUpstreamServer(options: options).run(host: "127.0.0.1", port: 0, logger: logger) { port in
                    mockPort.set(port)
                }
            }
            let mock = "http://127.0.0.1:\(try await mockPort.wait())"
            let file = directory.appendingPathComponent("routershift.yaml")
            try Self.write(yaml, to: file, mock: mock, directory: directory)
            let source: ConfigurationSource = {
                // Parsed as written: the tests' relative paths are the checkout's, not the file's folder's.
                var configuration = try ConfigurationLoader.parse(
                    try String(contentsOf: file, encoding: .utf8), file: file.path, environment: [:])
                configuration.server.port = 0
                configuration.server.masterKey = masterKey
                return configuration
            }
            let gateway = try await Gateway(
                configuration: try source(), logger: logger, clock: clock, configurationSource: source,
                tracing: tracer.map { ($0, IdleService()) })
            let gatewayPort = Ports()
            let adminPort = Ports()
            group.addTask {
                let application = gateway.makeApplication { channel in gatewayPort.set(channel.localAddress?.port ?? 0)
                }
                try await application.runService()
            }
            var adminURL: String?
            if let admin = gateway.makeAdminApplication(onServerRunning: { adminPort.set($0.localAddress?.port ?? 0) })
            {
                group.addTask { try await admin.runService() }
                adminURL = "http://127.0.0.1:\(try await adminPort.wait())"
            }
            for service in gateway.backgroundServices { group.addTask { try await service.run() } }
            let scheme = gateway.certificate == nil ? "http" : "https"
            let base = "\(scheme)://127.0.0.1:\(try await gatewayPort.wait())"
            var clientConfiguration = HTTPClient.Configuration()
            if let trusting {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .file(trusting)
                clientConfiguration.tlsConfiguration = tls
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            defer { _ = client.shutdown() }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(
                    try await body(
                        LiveGateway(
                            baseURL: base, adminURL: adminURL, mockURL: mock, gateway: gateway, client: client,
                            configurationFile: file)))
            } catch {
                outcome = .failure(error)
            }
            group.cancelAll()
            try await gateway.shutdown()
            return try outcome.get()
        }
    }

    /// `yaml` as the gateway's configuration file: `MOCK` replaced by the mock's address, the database in
    /// `directory` and the price table of the checkout.
    private static func write(_ yaml: String, to file: URL, mock: String, directory: URL) throws {
        let text =
            yaml.replacingOccurrences(of: "MOCK", with: mock)
            + "\ndatabase: { path: \(directory.path)/gateway.sqlite }\npricing: { file: data/prices.json }\n"
        try text.write(to: file, atomically: true, encoding: .utf8)
    }

    /// Replaces the configuration file, for a reload to read; `yaml` as ``run(mock:yaml:directory:trusting:clock:_:)`` takes it.
    func writeConfiguration(_ yaml: String) throws {
        try Self.write(
            yaml, to: configurationFile, mock: mockURL, directory: configurationFile.deletingLastPathComponent())
    }

    /// POSTs JSON to the gateway with the master key (or `key`) and returns status, headers and body.
    func post(_ path: String, _ body: JSONValue, key: String? = nil, headers: [(String, String)] = []) async throws
        -> (status: Int, headers: HTTPHeaders, body: JSONValue, text: String)
    {
        try await send(path, method: .POST, body: body.serialized(), key: key, headers: headers)
    }

    /// Requests the mock upstream received, by "path model".
    func upstreamCount(_ model: String, path: String = "/v1/chat/completions") async throws -> Int {
        var request = HTTPClientRequest(url: mockURL + "/mock/stats")
        request.method = .GET
        let response = try await client.execute(request, timeout: .seconds(10))
        let json = try JSONValue.parse(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
        return Int(json["requests"]?["\(path) \(model)"]?.integer ?? 0)
    }

    /// Creates a virtual key through the admin API and returns its secret.
    func createKey(_ body: JSONValue) async throws -> String {
        let answer = try await post("/admin/keys", body)
        guard let key = answer.body["key"]?.string else {
            throw GatewayError(.internalError, "no key in \(answer.text)")
        }
        return key
    }

    func get(_ path: String, key: String? = nil) async throws -> (
        status: Int, headers: HTTPHeaders, body: JSONValue, text: String
    ) {
        try await send(path, method: .GET, body: nil, key: key, headers: [])
    }

    /// - Parameter base: the URL `path` is relative to; the gateway's by default.
    func send(
        _ path: String, method: HTTPMethod, body: [UInt8]?, key: String?, headers: [(String, String)],
        base: String? = nil
    ) async throws
        -> (status: Int, headers: HTTPHeaders, body: JSONValue, text: String)
    {
        var request = HTTPClientRequest(url: (base ?? baseURL) + path)
        request.method = method
        // An empty key sends none, for requests that authenticate with a header of their own.
        if key != "" { request.headers.add(name: "Authorization", value: "Bearer \(key ?? Self.masterKey)") }
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        let text = String(buffer: buffer)
        return (Int(response.status.code), response.headers, (try? JSONValue.parse(Array(text.utf8))) ?? .null, text)
    }
}

/// A service with nothing to do: the span exporter's place when a test's tracer keeps spans in memory.
struct IdleService: Service {
    func run() async throws {}
}

/// A port reported by a server once it is listening.
final class Ports: Sendable {
    private let port = Mutex<Int?>(nil)

    func set(_ value: Int) { port.withLock { $0 = value } }

    func wait() async throws -> Int {
        for _ in 0..<1000 {
            if let value = port.withLock({ $0 }) { return value }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        throw CancellationError()
    }
}

extension LiveGateway {
    /// A configuration with one mock provider of each kind and a model group on each: `chat` (OpenAI),
    /// `claude` (Anthropic) and `gemini` (Gemini), serving the upstream models given, then `moreModels`
    /// (YAML list items) and the `cache` settings.
    static func everyProtocolYAML(
        upstreamModels: (chat: String, claude: String, gemini: String) = ("mock-small", "mock-small", "mock-small"),
        moreModels: String = "", cache: String
    ) -> String {
        """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
          - { name: mock-anthropic, kind: anthropic, base_url: "MOCK" }
          - { name: mock-gemini, kind: gemini, base_url: "MOCK/v1beta" }
        models:
          - { name: chat, deployments: [ { provider: mock, model: \(upstreamModels.chat) } ] }
          - { name: claude, deployments: [ { provider: mock-anthropic, model: \(upstreamModels.claude) } ] }
          - { name: gemini, deployments: [ { provider: mock-gemini, model: \(upstreamModels.gemini) } ] }
        \(moreModels)
        cache: \(cache)
        """
    }
}
