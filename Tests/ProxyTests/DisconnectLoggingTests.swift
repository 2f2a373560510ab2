import AsyncHTTPClient
import NIOCore
import Testing

@testable import Proxy

/// A client that goes away is logged 499, whatever it asked for.
@Suite struct DisconnectLoggingTests {
    @Test(.timeLimit(.minutes(1)))
    func aClientGoneFromANonStreamRequestIsLogged499() async throws {
        let yaml = """
            providers:
              - { name: mock, kind: openai, base_url: "MOCK/v1" }
            models:
              - { name: m, deployments: [ { provider: mock, model: "mock@hang" } ] }
            cache: { enabled: false }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            var request = HTTPClientRequest(url: live.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(LiveGateway.masterKey)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#))
            await #expect(throws: (any Error).self) {
                _ = try await live.client.execute(request, timeout: .milliseconds(300))
            }
            var statuses: [Int64] = []
            for _ in 0..<2500 where statuses.isEmpty {
                try live.gateway.telemetry.log.flush()
                let page = try live.gateway.store.requests(matching: RequestLogFilter(), limit: 10, after: nil)
                statuses = page.records.map { Int64($0.status) }
                if statuses.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(statuses == [499])
        }
    }
}
