import Testing

@testable import Proxy

/// A client that goes away is logged 499, whatever it asked for.
@Suite struct DisconnectLoggingTests {
    /// The client hangs up only once the upstream has the request, so the gateway's handler is certainly in
    /// flight (a client timeout alone could fire before a loaded gateway had read the request at all).
    @Test(.timeLimit(.minutes(1))) func aClientGoneFromANonStreamRequestIsLogged499() async throws {
        let yaml = """
            providers:
              - { name: mock, kind: openai, base_url: "MOCK/v1" }
            models:
              - { name: m, deployments: [ { provider: mock, model: "mock@hang" } ] }
            cache: { enabled: false }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#
            let connection = try RawConnection(baseURL: live.baseURL)
            connection.send(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                    + "\(LiveGateway.masterKey)\r\nContent-Type: application/json\r\nContent-Length: "
                    + "\(body.utf8.count)\r\n\r\n\(body)")
            while try await live.upstreamCount("mock@hang") == 0 { try await Task.sleep(for: .milliseconds(20)) }
            connection.hangUp()
            var statuses: [Int64] = []
            while statuses.isEmpty {
                try live.gateway.telemetry.log.flush()
                let page = try live.gateway.store.requests(matching: RequestLogFilter(), limit: 10, after: nil)
                statuses = page.records.map { Int64($0.status) }
                if statuses.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(statuses == [499])
        }
    }
}
