import Testing

@testable import Proxy

/// `x-request-id` on every response: the client's own when it is a sane token, a generated one otherwise,
/// and the same id in the request log.
@Suite(.serialized) struct RequestIDTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
        models:
          - { name: chat, deployments: [ { provider: mock, model: mock-small } ] }
        cache: { enabled: false }
        """

    static let chat: JSONValue = ["model": "chat", "messages": [["role": "user", "content": "Hello"]]]

    @Test func aSaneClientIDIsEchoedAndLogged() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let id = "client-Run_42.attempt:1"
            let answer = try await live.post("/v1/chat/completions", Self.chat, headers: [("x-request-id", id)])
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "x-request-id") == id)
            let logs = try await live.get("/admin/logs")
            let logged = logs.body["data"]?.array?.compactMap { $0["request_id"]?.string }
            #expect(logged == [id])
        }
    }

    @Test func anInsaneClientIDIsReplaced() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            for presented in ["has space", "semi;colon", "a/b", String(repeating: "a", count: 129)] {
                let answer = try await live.post(
                    "/v1/chat/completions", Self.chat, headers: [("x-request-id", presented)])
                let id = try #require(answer.headers.first(name: "x-request-id"))
                #expect(id != presented && id.hasPrefix("req_") && RequestID.isSane(id))
            }
            #expect(RequestID.isSane(String(repeating: "a", count: 128)))
        }
    }

    @Test func everyResponseCarriesAGeneratedIDErrorsAndStreamsIncluded() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            var ids: Set<String> = []
            let plain = try await live.post("/v1/chat/completions", Self.chat)
            var streamed = Self.chat
            streamed = .object((streamed.object ?? [:]).merging(["stream": true]) { _, new in new })
            let stream = try await live.post("/v1/chat/completions", streamed)
            #expect(stream.headers.first(name: "content-type") == "text/event-stream")
            let unauthorised = try await live.post("/v1/chat/completions", Self.chat, key: "sk-wrong")
            #expect(unauthorised.status == 401)
            let unknown = try await live.post(
                "/v1/chat/completions", ["model": "nope", "messages": Self.chat["messages"]!])
            #expect(unknown.status == 404)
            let invalid = try await live.post("/v1/messages", ["model": "chat"])
            #expect(invalid.status == 400)
            let missing = try await live.get("/v1/no-such-route")
            #expect(missing.status == 404)
            for answer in [plain, stream, unauthorised, unknown, invalid, missing] {
                let id = try #require(answer.headers.first(name: "x-request-id"))
                #expect(id.hasPrefix("req_") && id.count == 28)
                ids.insert(id)
            }
            #expect(ids.count == 6)
        }
    }
}
