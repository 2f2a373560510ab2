import Foundation
import Testing

@testable import Proxy

/// Faithful translation through the live gateway and the mock upstream: what reaches each provider kind,
/// and what each client sees.
@Suite struct TranslationLiveTests {
    static let yaml = LiveGateway.everyProtocolYAML(
        moreModels: """
              - name: lenient-claude
                translation: { unsupported: drop }
                deployments: [ { provider: mock-anthropic, model: mock-small } ]
            """, cache: "{ enabled: false }")

    static func chat(_ model: String, _ fields: [String: JSONValue] = [:]) -> JSONValue {
        var body: [String: JSONValue] = ["model": .string(model), "messages": [["role": "user", "content": "Hello"]]]
        for (key, value) in fields { body[key] = value }
        return .object(body)
    }

    /// The last request the mock received at `path`: its body and headers.
    static func lastUpstreamRequest(_ live: LiveGateway, path: String) async throws -> JSONValue {
        let query = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
        let answer = try await live.send(
            "", method: .GET, body: nil, key: nil, headers: [], base: live.mockURL + "/mock/last?path=" + query)
        return answer.body
    }

    /// The JSON payloads of an SSE body's `data:` lines.
    static func events(_ text: String) -> [JSONValue] {
        text.split(separator: "\n").filter { $0.hasPrefix("data: ") && $0 != "data: [DONE]" }.compactMap {
            try? JSONValue.parse(Array($0.dropFirst(6).utf8))
        }
    }

    @Test(.timeLimit(.minutes(1))) func maxCompletionTokensAndJSONModeReachAnAnthropicDeployment() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let limited = try await live.post(
                "/v1/chat/completions", Self.chat("claude", ["max_completion_tokens": 33]))
            #expect(limited.status == 200, "\(limited.text)")
            #expect(try await Self.lastUpstreamRequest(live, path: "/v1/messages")["body"]?["max_tokens"] == 33)

            let json = try await live.post(
                "/v1/chat/completions", Self.chat("claude", ["response_format": ["type": "json_object"]]))
            #expect(json.status == 200, "\(json.text)")
            let message = json.body["choices"]?.array?.first?["message"]
            let content = try #require(message?["content"]?.string)
            #expect(try JSONValue.parse(Array(content.utf8)).object != nil)
            #expect(message?["tool_calls"] == nil)
            #expect(json.body["choices"]?.array?.first?["finish_reason"] == "stop")
        }
    }

    @Test(.timeLimit(.minutes(1))) func aServerToolIsRefusedForAnOpenAIDeploymentNamingIt() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let answer = try await live.post(
                "/v1/messages",
                [
                    "model": "chat", "max_tokens": 50, "messages": [["role": "user", "content": "News?"]],
                    "tools": [["type": "web_search_20250305", "name": "web_search"]],
                ])
            #expect(answer.status == 400)
            #expect(answer.body["type"] == "error")
            #expect(answer.body["error"]?["message"]?.string?.contains("web_search_20250305") == true)
            #expect(try await live.upstreamCount("mock-small") == 0)
        }
    }

    @Test(.timeLimit(.minutes(1))) func unsupportedParametersAreRefusedOrDroppedByTheGroupsPolicy() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let refused = try await live.post("/v1/chat/completions", Self.chat("claude", ["seed": 7]))
            #expect(refused.status == 400)
            #expect(refused.body["error"]?["param"] == "seed")

            let dropped = try await live.post(
                "/v1/chat/completions", Self.chat("lenient-claude", ["seed": 7, "logprobs": true]))
            #expect(dropped.status == 200, "\(dropped.text)")
            #expect(dropped.headers.first(name: "x-routershift-dropped-params") == "logprobs, seed")
            let sent = try await Self.lastUpstreamRequest(live, path: "/v1/messages")["body"]
            #expect(sent?["seed"] == nil && sent?["logprobs"] == nil)

            let clean = try await live.post("/v1/chat/completions", Self.chat("lenient-claude"))
            #expect(clean.headers.first(name: "x-routershift-dropped-params") == nil)
        }
    }

    @Test(.timeLimit(.minutes(1))) func anthropicBetaReachesAnthropicDeploymentsAndMessageStartHasTheInputTokens()
        async throws
    {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let answer = try await live.post(
                "/v1/messages",
                [
                    "model": "claude", "max_tokens": 50, "stream": true,
                    "messages": [["role": "user", "content": "Count the words in this question"]],
                ], headers: [("anthropic-beta", "token-efficient-tools-2025-02-19")])
            #expect(answer.status == 200)
            let start = Self.events(answer.text).first { $0["type"] == "message_start" }
            #expect((start?["message"]?["usage"]?["input_tokens"]?.integer ?? 0) > 0)
            let sent = try await Self.lastUpstreamRequest(live, path: "/v1/messages")
            #expect(sent["headers"]?["anthropic-beta"] == "token-efficient-tools-2025-02-19")
        }
    }

    @Test(.timeLimit(.minutes(1))) func usageChunksReachOnlyClientsThatAskedForThem() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            for model in ["chat", "claude"] {
                let plain = try await live.post("/v1/chat/completions", Self.chat(model, ["stream": true]))
                let chunks = Self.events(plain.text)
                #expect(!chunks.isEmpty)
                #expect(chunks.allSatisfy { $0["choices"]?.array?.isEmpty == false && $0["usage"] == nil }, "\(model)")

                let asked = try await live.post(
                    "/v1/chat/completions",
                    Self.chat(model, ["stream": true, "stream_options": ["include_usage": true]]))
                let last = Self.events(asked.text).last
                #expect(last?["choices"]?.array?.isEmpty == true)
                #expect((last?["usage"]?["prompt_tokens"]?.integer ?? 0) > 0, "\(model)")
            }
            // The gateway still asks the OpenAI upstream for usage, for its own accounting.
            let sent = try await Self.lastUpstreamRequest(live, path: "/v1/chat/completions")
            #expect(sent["body"]?["stream_options"]?["include_usage"] == true)
        }
    }

    @Test(.timeLimit(.minutes(1))) func geminiStreamsAJSONArrayWithoutAltSSE() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let body: JSONValue = ["contents": [["role": "user", "parts": [["text": "Stream me"]]]]]
            let array = try await live.post("/v1beta/models/gemini:streamGenerateContent", body)
            #expect(array.status == 200)
            #expect(array.headers.first(name: "content-type") == "application/json")
            let elements = try #require(array.body.array, "\(array.text)")
            #expect(elements.last?["candidates"]?.array?.first?["finishReason"] == "STOP")

            let events = try await live.post("/v1beta/models/gemini:streamGenerateContent?alt=sse", body)
            #expect(events.headers.first(name: "content-type") == "text/event-stream")
            #expect(!Self.events(events.text).isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aGeminiSchemaReachesAnOpenAIDeploymentAsJSONSchema() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let body: JSONValue = [
                "contents": [["role": "user", "parts": [["text": "A person"]]]],
                "generationConfig": [
                    "responseMimeType": "application/json",
                    "responseSchema": ["type": "OBJECT", "properties": ["name": ["type": "STRING"]]],
                ],
            ]
            let answer = try await live.post("/v1beta/models/chat:generateContent", body)
            #expect(answer.status == 200, "\(answer.text)")
            let sent = try await Self.lastUpstreamRequest(live, path: "/v1/chat/completions")
            #expect(
                sent["body"]?["response_format"]?["json_schema"]?["schema"]
                    == ["type": "object", "properties": ["name": ["type": "string"]]])
        }
    }
}
