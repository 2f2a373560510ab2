import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// The limit settings: read from the file, checked, defaulted.
@Suite struct LimitSettingsTests {
    static let providers = """
        providers: [ { name: openai, kind: openai, base_url: "https://api.openai.com/v1" } ]
        models: [ { name: m, deployments: [ { provider: openai, model: m } ] } ]
        """

    @Test func readsTheLimits() throws {
        let configuration = try ConfigurationLoader.parse(
            """
            server: { request_header_timeout: 5s, idle_timeout: 30s, request_body_timeout: 2m, write_timeout: 10s,
                      max_connections: 100, max_request_header_bytes: 16384 }
            routing: { max_stream_event_bytes: 65536, max_response_bytes: 1048576, max_stream_capture_bytes: 2048 }
            \(Self.providers)
            """)
        let server = configuration.server
        #expect(server.requestHeaderTimeout == 5 && server.idleTimeout == 30 && server.requestBodyTimeout == 120)
        #expect(server.writeTimeout == 10 && server.maxConnections == 100 && server.maxRequestHeaderBytes == 16384)
        let routing = configuration.routing
        #expect(routing.maxStreamEventBytes == 65536 && routing.maxResponseBytes == 1 << 20)
        #expect(routing.maxStreamCaptureBytes == 2048)
    }

    @Test func defaultsBoundEverything() throws {
        let configuration = try ConfigurationLoader.parse(Self.providers)
        #expect(configuration.server.requestHeaderTimeout == 10 && configuration.server.idleTimeout == 75)
        #expect(configuration.routing.maxStreamEventBytes == 1 << 20)
        #expect(configuration.routing.maxResponseBytes == 64 << 20)
    }

    @Test func refusesLimitsThatBoundNothing() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(
                """
                server: { idle_timeout: 0s, max_connections: 0 }
                routing: { max_stream_event_bytes: 10 }
                \(Self.providers)
                """)
        }
        #expect(
            Set(error.problems.map(\.path))
                == ["server.idle_timeout", "server.max_connections", "routing.max_stream_event_bytes"])
    }
}
