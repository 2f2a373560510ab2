import Testing

@testable import Proxy

/// The cache report includes hits served a moment ago, not only those already written.
@Suite struct CacheStatsFreshnessTests {
    @Test(.timeLimit(.minutes(1))) func statsCountAHitAtOnce() async throws {
        let yaml = """
            providers:
              - { name: mock, kind: openai, base_url: "MOCK/v1" }
            models:
              - { name: m, deployments: [ { provider: mock, model: mock-small } ] }
            cache: { enabled: true, semantic: false }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            let body: JSONValue = ["model": "m", "messages": [["role": "user", "content": "what is a hash?"]]]
            #expect(try await live.post("/v1/chat/completions", body).status == 200)
            let hit = try await live.post("/v1/chat/completions", body)
            #expect(hit.headers.first(name: "x-routershift-cache") == "hit")
            let stats = try await live.get("/admin/cache/stats")
            #expect(stats.body["exact_hits"]?.integer == 1)
        }
    }
}
