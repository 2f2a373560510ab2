import Hummingbird
import Logging

/// A stand-in upstream on an ephemeral loopback port, serving `router` for the length of `body`: for
/// upstreams that misbehave in ways the mock does not (an endless stream line) or that record what they
/// were sent.
enum TestUpstream {
    static func run<Result: Sendable>(
        _ router: Router<BasicRequestContext>, _ body: @Sendable (_ url: String) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: "test-upstream")
        logger.logLevel = .critical
        let port = Ports()
        // Built here: the router is not Sendable, the application is.
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { port.set($0.localAddress?.port ?? 0) }, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService() }
            let result = try await body("http://127.0.0.1:\(try await port.wait())")
            group.cancelAll()
            return result
        }
    }
}
