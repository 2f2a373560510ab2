import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}` on a live gateway in front of the mock
/// upstream: answers, streams, stored conversations scoped to their key, refusals in OpenAI's format, and
/// the cache shared with chat completions.
@Suite struct ResponsesEndpointTests {
    static let yaml = LiveGateway.everyProtocolYAML(
        upstreamModels: ("mock-small", "claude-mock", "gemini-mock"), cache: "{ enabled: true, semantic: false }")

    static let tool: JSONValue = [
        "type": "function", "name": "lookup", "description": "Looks things up.",
        "parameters": ["type": "object", "properties": ["query": ["type": "string"]]],
    ]

    /// The server-sent events of a streamed answer, as JSON.
    static func events(_ text: String) throws -> [JSONValue] {
        var parser = ServerSentEventParser()
        return try (parser.feed(ByteBuffer(string: text)) + parser.finish()).map {
            try JSONValue.parse(Array($0.data.utf8))
        }
    }

    @Test(arguments: ["chat", "claude", "gemini"])
    func answersThroughEveryProviderKind(_ model: String) async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let answer = try await live.post(
                "/v1/responses",
                ["model": .string(model), "instructions": "Be brief.", "input": "What is the capital of France?"])
            #expect(answer.status == 200, "\(answer.text)")
            let body = answer.body
            #expect(body["object"] == "response" && body["status"] == "completed" && body["model"] == .string(model))
            #expect(body["id"]?.string?.hasPrefix("resp_") == true && body["instructions"] == "Be brief.")
            let message = try #require(body["output"]?.array?.first)
            #expect(message["type"] == "message" && message["role"] == "assistant")
            #expect(message["content"]?.array?.first?["text"]?.string?.isEmpty == false)
            #expect((body["usage"]?["input_tokens"]?.integer ?? 0) > 0)
            #expect((body["usage"]?["output_tokens"]?.integer ?? 0) > 0)
        }
    }

    @Test func aFunctionToolIsCalledAndItsOutputContinuesTheTurn() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let first = try await live.post(
                "/v1/responses", ["model": "chat", "input": "Weather in Paris?", "tools": [Self.tool]])
            #expect(first.status == 200, "\(first.text)")
            let call = try #require(first.body["output"]?.array?.first)
            #expect(call["type"] == "function_call" && call["name"] == "lookup")
            let callID = try #require(call["call_id"]?.string)
            let second = try await live.post(
                "/v1/responses",
                [
                    "model": "chat", "tools": [Self.tool],
                    "input": [
                        ["role": "user", "content": "Weather in Paris?"], call,
                        ["type": "function_call_output", "call_id": .string(callID), "output": "18 C"],
                    ],
                ])
            #expect(second.status == 200, "\(second.text)")
            #expect(second.body["output"]?.array?.first?["type"] == "message")
        }
    }

    @Test func aStreamIsTheTypedEventSequenceAndACacheHitReplaysIt() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let request: JSONValue = ["model": "chat", "input": "Name a colour.", "stream": true]
            for expected in ["miss", "hit"] {
                let answer = try await live.post("/v1/responses", request)
                #expect(answer.status == 200)
                #expect(answer.headers.first(name: "content-type") == "text/event-stream")
                #expect(answer.headers.first(name: "x-routershift-cache") == expected)
                let events = try Self.events(answer.text)
                let types = events.compactMap { $0["type"]?.string }
                #expect(
                    Array(types.prefix(4)) == [
                        "response.created", "response.in_progress", "response.output_item.added",
                        "response.content_part.added",
                    ])
                #expect(types.contains("response.output_text.delta"))
                #expect(
                    Array(types.suffix(4)) == [
                        "response.output_text.done", "response.content_part.done", "response.output_item.done",
                        "response.completed",
                    ])
                #expect(events.map { $0["sequence_number"]?.integer ?? -1 } == Array(0..<Int64(events.count)))
                let text = events.filter { $0["type"] == "response.output_text.delta" }
                    .compactMap { $0["delta"]?.string }.joined()
                let completed = try #require(events.last?["response"])
                #expect(completed["output"]?.array?.first?["content"]?.array?.first?["text"] == .string(text))
                #expect((completed["usage"]?["output_tokens"]?.integer ?? 0) > 0)
                // A streamed response is stored once complete.
                let stored = try await live.get("/v1/responses/\(completed["id"]?.string ?? "")")
                #expect(stored.status == 200 && stored.body == completed)
            }
        }
    }

    @Test func instructionsShareTheCacheWithAChatSystemPrompt() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let chat = try await live.post(
                "/v1/chat/completions",
                [
                    "model": "chat",
                    "messages": [
                        ["role": "system", "content": "Be brief."],
                        ["role": "user", "content": "Why is the sky blue?"],
                    ],
                ])
            #expect(chat.headers.first(name: "x-routershift-cache") == "miss")
            let responses = try await live.post(
                "/v1/responses",
                ["model": "chat", "instructions": "Be brief.", "input": "Why is the sky blue?", "store": false])
            #expect(responses.headers.first(name: "x-routershift-cache") == "hit")
            #expect(
                responses.body["output"]?.array?.first?["content"]?.array?.first?["text"]
                    == chat.body["choices"]?.array?.first?["message"]?["content"])
            // Not stored: nothing to retrieve.
            let id = responses.body["id"]?.string ?? ""
            #expect(try await live.get("/v1/responses/\(id)").status == 404)
        }
    }

    @Test func previousResponseIDContinuesTheStoredConversation() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let first = try await live.post("/v1/responses", ["model": "chat", "input": "My name is Ada."])
            let id = try #require(first.body["id"]?.string)
            let second = try await live.post(
                "/v1/responses", ["model": "chat", "input": "What is my name?", "previous_response_id": .string(id)])
            #expect(second.status == 200, "\(second.text)")
            #expect(second.body["previous_response_id"] == .string(id))
            // The conversation reached the upstream: two user turns and the first answer, so a longer prompt.
            let firstTokens = first.body["usage"]?["input_tokens"]?.integer ?? 0
            #expect((second.body["usage"]?["input_tokens"]?.integer ?? 0) > firstTokens)
            let missing = try await live.post(
                "/v1/responses", ["model": "chat", "input": "Hi", "previous_response_id": "resp_missing"])
            #expect(missing.status == 404)
            #expect(missing.body["error"]?["param"] == "previous_response_id")
        }
    }

    @Test func aStoredResponseIsVisibleOnlyToItsKeyUntilDeleted() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let owner = try await live.createKey(["name": "owner"])
            let other = try await live.createKey(["name": "other"])
            let created = try await live.post("/v1/responses", ["model": "chat", "input": "Hello"], key: owner)
            let id = try #require(created.body["id"]?.string)
            let retrieved = try await live.get("/v1/responses/\(id)", key: owner)
            #expect(retrieved.status == 200 && retrieved.body == created.body)
            let foreign = try await live.get("/v1/responses/\(id)", key: other)
            #expect(foreign.status == 404 && foreign.body["error"]?["code"] == "response_not_found")
            let continued = try await live.post(
                "/v1/responses", ["model": "chat", "input": "Hi", "previous_response_id": .string(id)], key: other)
            #expect(continued.status == 404)
            #expect(
                try await live.send("/v1/responses/\(id)", method: .DELETE, body: nil, key: other, headers: []).status
                    == 404)
            let deleted = try await live.send(
                "/v1/responses/\(id)", method: .DELETE, body: nil, key: owner, headers: [])
            #expect(
                deleted.status == 200 && deleted.body == ["id": .string(id), "object": "response", "deleted": true])
            #expect(try await live.get("/v1/responses/\(id)", key: owner).status == 404)
        }
    }

    @Test func refusalsAreOpenAIErrorsNamingTheParameter() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let hosted = try await live.post(
                "/v1/responses", ["model": "chat", "input": "Search", "tools": [["type": "web_search"]]])
            #expect(hosted.status == 400)
            #expect(hosted.body["error"]?["param"] == "tools[0].type")
            #expect(hosted.body["error"]?["type"] == "invalid_request_error")
            let notJSON = try await live.send(
                "/v1/responses", method: .POST, body: Array("{".utf8), key: nil, headers: [])
            #expect(notJSON.status == 400 && notJSON.body["error"]?["message"]?.string != nil)
            let unknownModel = try await live.post("/v1/responses", ["model": "nope", "input": "Hi"])
            #expect(unknownModel.status == 404 && unknownModel.body["error"]?["param"] == "model")
            let unknownPath = try await live.get("/v1/responses/resp_nothing")
            #expect(unknownPath.status == 404 && unknownPath.body["error"]?["code"] == "response_not_found")
        }
    }

    @Test func aBatchItemReachesTheResponsesAPIAndIsStored() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let batch = try await live.post(
                "/v1/batch",
                [
                    "requests": [
                        [
                            "custom_id": "r", "method": "POST", "url": "/v1/responses",
                            "body": ["model": "chat", "input": "Name a fruit."],
                        ],
                        [
                            "custom_id": "bad", "method": "POST", "url": "/v1/responses",
                            "body": ["model": "chat", "input": "Hi", "tools": [["type": "file_search"]]],
                        ],
                    ]
                ])
            #expect(batch.status == 200, "\(batch.text)")
            let results = try #require(batch.body["data"]?.array)
            let answer = try #require(results.first?["response"])
            #expect(answer["status_code"] == 200 && answer["body"]?["object"] == "response", "\(answer)")
            let id = try #require(answer["body"]?["id"]?.string)
            #expect(try await live.get("/v1/responses/\(id)").body == answer["body"])
            #expect(results.last?["response"]?["status_code"] == 400)
            #expect(results.last?["response"]?["body"]?["error"]?["param"] == "tools[0].type")
        }
    }

    @Test func aNativeDeploymentGetsTheResponsesAPIAndChatStaysChat() async throws {
        let yaml = """
            providers:
              - { name: mock, kind: openai, base_url: "MOCK/v1", responses: native }
            models:
              - { name: chat, deployments: [ { provider: mock, model: mock-native } ] }
            cache: { enabled: false }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            let plain = try await live.post("/v1/responses", ["model": "chat", "input": "Name a colour."])
            #expect(plain.status == 200, "\(plain.text)")
            #expect(plain.body["output"]?.array?.first?["content"]?.array?.first?["text"]?.string?.isEmpty == false)
            #expect((plain.body["usage"]?["output_tokens"]?.integer ?? 0) > 0)
            let streamed = try await live.post(
                "/v1/responses", ["model": "chat", "input": "Weather?", "tools": [Self.tool], "stream": true])
            let events = try Self.events(streamed.text)
            #expect(events.last?["type"] == "response.completed")
            #expect(events.last?["response"]?["output"]?.array?.first?["name"] == "lookup")
            #expect(try await live.upstreamCount("mock-native", path: "/v1/responses") == 2)
            let chat = try await live.post(
                "/v1/chat/completions", ["model": "chat", "messages": [["role": "user", "content": "Hi"]]])
            #expect(chat.status == 200)
            #expect(try await live.upstreamCount("mock-native", path: "/v1/chat/completions") == 1)
        }
    }

    @Test func onlyOpenAIProvidersMayServeTheResponsesAPINatively() throws {
        let configuration = try ConfigurationLoader.parse(
            """
            providers: [ { name: openai, kind: openai, base_url: "https://api.openai.com/v1", responses: native } ]
            models: [ { name: chat, deployments: [ { provider: openai, model: m } ] } ]
            """)
        #expect(configuration.providers[0].servesResponses)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(
                """
                providers:
                  - { name: claude, kind: anthropic, base_url: "https://api.anthropic.com", responses: native }
                  - { name: openai, kind: openai, base_url: "https://api.openai.com/v1", responses: always }
                models: [ { name: chat, deployments: [ { provider: openai, model: m } ] } ]
                """)
        }
        #expect(error.problems.map(\.path) == ["providers[0].responses", "providers[1].responses"])
        #expect(error.problems[1].message.contains("not `always`"))
    }
}
