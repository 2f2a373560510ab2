import Testing

@testable import Proxy

/// Legacy text completions, translated to chat or passed through, and moderations, through the live
/// gateway and the mock.
@Suite struct CompletionsLiveTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
          - { name: mock-anthropic, kind: anthropic, base_url: "MOCK" }
        models:
          - { name: claude, deployments: [ { provider: mock-anthropic, model: mock-small } ] }
          - { name: instruct, endpoints: [completions], deployments: [ { provider: mock, model: mock-instruct } ] }
          - { name: guard, endpoints: [moderations], deployments: [ { provider: mock, model: mock-moderation } ] }
        cache: { enabled: false }
        """

    static func events(_ text: String) -> [JSONValue] {
        text.split(separator: "\n").filter { $0.hasPrefix("data: ") && $0 != "data: [DONE]" }.compactMap {
            try? JSONValue.parse(Array($0.dropFirst(6).utf8))
        }
    }

    @Test(.timeLimit(.minutes(1))) func aChatOnlyModelAnswersCompletionsThroughChat() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let answer = try await live.post(
                "/v1/completions", ["model": "claude", "prompt": "Say hi", "max_tokens": 20])
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.body["object"] == "text_completion")
            #expect(answer.body["choices"]?.array?.first?["text"] == "Mock answer to: Say hi")
            #expect(answer.body["choices"]?.array?.first?["finish_reason"] == "stop")
            #expect((answer.body["usage"]?["prompt_tokens"]?.integer ?? 0) > 0)
            #expect(try await live.upstreamCount("mock-small", path: "/v1/messages") == 1)

            let streamed = try await live.post(
                "/v1/completions", ["model": "claude", "prompt": "Say hi", "stream": true])
            let chunks = Self.events(streamed.text)
            #expect(chunks.allSatisfy { $0["object"] == "text_completion" && $0["usage"] == nil })
            #expect(
                chunks.compactMap { $0["choices"]?.array?.first?["text"]?.string }.joined() == "Mock answer to: Say hi")
            #expect(streamed.text.hasSuffix("data: [DONE]\n\n"))

            let echo = try await live.post("/v1/completions", ["model": "claude", "prompt": "Say hi", "echo": true])
            #expect(echo.status == 400 && echo.body["error"]?["param"] == "echo")
            let batch = try await live.post("/v1/completions", ["model": "claude", "prompt": ["a", "b"]])
            #expect(batch.status == 400 && batch.body["error"]?["param"] == "prompt")
        }
    }

    @Test(.timeLimit(.minutes(1))) func aCompletionsModelIsPassedThroughStreamedOrNot() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let answer = try await live.post(
                "/v1/completions", ["model": "instruct", "prompt": "Say hi", "echo": false])
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.body["model"] == "instruct" && answer.body["object"] == "text_completion")
            #expect(try await live.upstreamCount("mock-instruct", path: "/v1/completions") == 1)

            let streamed = try await live.post(
                "/v1/completions", ["model": "instruct", "prompt": "Say hi", "stream": true])
            #expect(streamed.headers.first(name: "content-type") == "text/event-stream")
            #expect(Self.events(streamed.text).last?["choices"]?.array?.first?["finish_reason"] == "stop")
        }
    }

    @Test(.timeLimit(.minutes(1))) func moderationsGoToTheNamedOrDefaultModerationModel() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let named = try await live.post("/v1/moderations", ["model": "guard", "input": "an attack plan"])
            #expect(named.status == 200, "\(named.text)")
            #expect(named.body["results"]?.array?.first?["flagged"] == true && named.body["model"] == "guard")
            let defaulted = try await live.post("/v1/moderations", ["input": ["hello", "attack"]])
            #expect(defaulted.body["results"]?.array?.map { $0["flagged"] } == [false, true])
            let wrong = try await live.post("/v1/moderations", ["model": "claude", "input": "hello"])
            #expect(wrong.status == 400 && wrong.body["error"]?["code"] == "model_not_supported")
            let missing = try await live.post("/v1/moderations", ["model": "guard"])
            #expect(missing.status == 400 && missing.body["error"]?["param"] == "input")
        }
        try await LiveGateway.run(yaml: CompatibilityEndpointsLiveTests.yaml) { live in
            let none = try await live.post("/v1/moderations", ["input": "hello"])
            #expect(none.status == 404 && none.body["error"]?["code"] == "model_not_found")
        }
    }
}
