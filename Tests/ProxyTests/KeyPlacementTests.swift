import AsyncHTTPClient
import NIOCore
import Testing

@testable import Proxy

/// Where a key may be presented and what a key may be created with.
@Suite struct KeyPlacementTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
        models:
          - { name: m, deployments: [ { provider: mock, model: mock-small } ] }
        teams:
          - { name: research, budget: 100 }
        cache: { enabled: false }
        """

    func unauthenticated(_ live: LiveGateway, _ path: String, body: String? = nil) async throws -> Int {
        var request = HTTPClientRequest(url: live.baseURL + path)
        request.method = body == nil ? .GET : .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(.init(string: body)) }
        let response = try await live.client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    @Test(.timeLimit(.minutes(1))) func aKeyInTheURLAuthenticatesOnlyGeminiRoutes() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let key = LiveGateway.masterKey
            let models = try await unauthenticated(live, "/v1/models?key=\(key)")
            #expect(models == 401)
            let chat = try await unauthenticated(
                live, "/v1/chat/completions?key=\(key)",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(chat == 401)
            let gemini = try await unauthenticated(
                live, "/v1beta/models/m:generateContent?key=\(key)",
                body: #"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#)
            #expect(gemini == 200)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aKeyForATeamTheConfigurationLacksIsRefused() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let refused = try await live.post("/admin/keys", ["name": "k", "team": "reserch"])
            #expect(refused.status == 400)
            #expect(refused.body["error"]?["param"]?.string == "team")
            #expect(refused.body["error"]?["message"]?.string?.contains("`research`") == true)
            let created = try await live.post("/admin/keys", ["name": "k", "team": "research"])
            #expect(created.status == 201)
        }
    }
}
