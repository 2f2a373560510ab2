import Testing

@testable import Proxy

/// The endpoints clients of each protocol call besides chat: model lookups in each protocol's shape,
/// token counting, Gemini embeddings and Azure-style paths, through the live gateway and the mock.
@Suite struct CompatibilityEndpointsLiveTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
          - { name: mock-anthropic, kind: anthropic, base_url: "MOCK" }
        models:
          - { name: chat, deployments: [ { provider: mock, model: mock-small } ] }
          - { name: claude, deployments: [ { provider: mock-anthropic, model: mock-small } ] }
          - { name: embedder, endpoints: [embeddings], deployments: [ { provider: mock, model: mock-embedding } ] }
        cache: { enabled: false }
        """

    static let anthropicHeaders = [("anthropic-version", "2023-06-01")]

    @Test(.timeLimit(.minutes(1))) func modelsAreListedAndLookedUpInEachProtocolsShape() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let model = try await live.get("/v1/models/chat")
            #expect(model.status == 200 && model.body["id"] == "chat" && model.body["object"] == "model")
            let missing = try await live.get("/v1/models/nope")
            #expect(missing.status == 404 && missing.body["error"]?["code"] == "model_not_found")

            let anthropic = try await live.send(
                "/v1/models", method: .GET, body: nil, key: nil, headers: Self.anthropicHeaders)
            #expect(anthropic.body["has_more"] == false)
            #expect(anthropic.body["data"]?.array?.map { $0["type"] } == ["model", "model", "model"])
            let anthropicMissing = try await live.send(
                "/v1/models/nope", method: .GET, body: nil, key: nil, headers: Self.anthropicHeaders)
            #expect(anthropicMissing.status == 404 && anthropicMissing.body["type"] == "error")

            let gemini = try await live.get("/v1beta/models")
            #expect(gemini.body["models"]?.array?.compactMap { $0["name"]?.string }.contains("models/embedder") == true)
            let one = try await live.get("/v1beta/models/claude")
            #expect(one.body["supportedGenerationMethods"]?.array?.contains("countTokens") == true)
            let geminiMissing = try await live.get("/v1beta/models/nope")
            #expect(geminiMissing.status == 404 && geminiMissing.body["error"]?["status"] == "NOT_FOUND")
        }
    }

    @Test(.timeLimit(.minutes(1))) func tokensAreCountedByAnthropicOrEstimated() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let prompt = "How many tokens does this short question take?"
            let messages: JSONValue = [["role": "user", "content": .string(prompt)]]
            let estimated = try await live.post(
                "/v1/messages/count_tokens", ["model": "chat", "messages": messages], headers: Self.anthropicHeaders)
            #expect(estimated.status == 200, "\(estimated.text)")
            let counted = try #require(estimated.body["input_tokens"]?.integer)
            #expect(counted >= 8 && counted <= 24)
            #expect(estimated.headers.first(name: "x-routershift-token-count") == "estimate")
            #expect(try await live.upstreamCount("mock-small") == 0)

            let gemini = try await live.post(
                "/v1beta/models/chat:countTokens",
                ["contents": [["role": "user", "parts": [["text": .string(prompt)]]]]])
            #expect(gemini.body["totalTokens"]?.integer == counted)

            // An Anthropic-only group counts with Anthropic (the mock: 1.3 tokens a word).
            let native = try await live.post(
                "/v1/messages/count_tokens", ["model": "claude", "messages": messages], headers: Self.anthropicHeaders)
            #expect(native.status == 200, "\(native.text)")
            #expect(native.body["input_tokens"] == 11)
            #expect(native.headers.first(name: "x-routershift-token-count") == nil)
            #expect(try await live.upstreamCount("mock-small", path: "/v1/messages/count_tokens") == 1)

            let invalid = try await live.post("/v1/messages/count_tokens", ["model": "claude"])
            #expect(invalid.status == 400 && invalid.body["type"] == "error")
            let unknown = try await live.post(
                "/v1/messages/count_tokens", ["model": "nope", "messages": [["role": "user", "content": "Hi"]]])
            #expect(unknown.status == 404)
        }
    }

    @Test(.timeLimit(.minutes(1))) func geminiEmbeddingsGoThroughTheEmbeddingDeployments() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let one = try await live.post(
                "/v1beta/models/embedder:embedContent",
                ["content": ["parts": [["text": "hello"]]], "outputDimensionality": 8])
            #expect(one.status == 200, "\(one.text)")
            #expect(one.body["embedding"]?["values"]?.array?.count == 8)

            let batch = try await live.post(
                "/v1beta/models/embedder:batchEmbedContents",
                [
                    "requests": [
                        ["model": "models/embedder", "content": ["parts": [["text": "a"]]]],
                        ["model": "models/embedder", "content": ["parts": [["text": "b"]]]],
                    ]
                ])
            #expect(batch.body["embeddings"]?.array?.count == 2)
            #expect(try await live.upstreamCount("mock-embedding", path: "/v1/embeddings") == 2)

            let notEmbedding = try await live.post(
                "/v1beta/models/chat:embedContent", ["content": ["parts": [["text": "hello"]]]])
            #expect(notEmbedding.status == 400 && notEmbedding.body["error"]?["status"] == "INVALID_ARGUMENT")
            let empty = try await live.post("/v1beta/models/embedder:embedContent", ["content": ["parts": []]])
            #expect(empty.status == 400)
        }
    }

    @Test(.timeLimit(.minutes(1))) func azureStylePathsServeTheDeploymentNamedModel() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let chat = try await live.post(
                "/openai/deployments/claude/chat/completions?api-version=2024-10-21",
                ["messages": [["role": "user", "content": "Hello"]]], key: "",
                headers: [("api-key", LiveGateway.masterKey)])
            #expect(chat.status == 200, "\(chat.text)")
            #expect(chat.body["model"] == "claude" && chat.body["object"] == "chat.completion")

            let embeddings = try await live.post(
                "/openai/deployments/embedder/embeddings?api-version=2024-10-21", ["input": "hello"], key: "",
                headers: [("api-key", LiveGateway.masterKey)])
            #expect(embeddings.body["data"]?.array?.count == 1)

            let unauthenticated = try await live.post(
                "/openai/deployments/chat/chat/completions?api-version=2024-10-21",
                ["messages": [["role": "user", "content": "Hello"]]], key: "")
            #expect(unauthenticated.status == 401 && unauthenticated.body["error"]?["type"] == "authentication_error")
        }
    }
}
