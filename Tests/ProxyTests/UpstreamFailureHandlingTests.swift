import Hummingbird
import NIOCore
import Testing

@testable import Proxy

/// How upstream failures reach routing and the client: a refused connection moves on at once, a 429
/// always says when to retry, an answer too large is named without internals, a whole answer to a stream
/// request is streamed.
@Suite struct UpstreamFailureHandlingTests {
    /// The first deployment's port refuses connections; its provider timeout is longer than the whole
    /// deadline, so only an immediate failover can answer.
    @Test(.timeLimit(.minutes(1))) func aRefusedConnectionFailsOverAtOnce() async throws {
        let yaml = """
            providers:
              - { name: closed, kind: openai, base_url: "http://127.0.0.1:1/v1", timeout: 60s, connect_timeout: 60s }
              - { name: mock, kind: openai, base_url: "MOCK/v1" }
            models:
              - name: m
                strategy: failover
                deployments: [ { provider: closed, model: mock-small }, { provider: mock, model: mock-small } ]
            routing: { retries: 1, deadline: 3s }
            cache: { enabled: false }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            let answer = try await live.post(
                "/v1/chat/completions", ["model": "m", "messages": [["role": "user", "content": "hello"]]])
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "x-routershift-deployment")?.hasPrefix("mock") == true)
        }
    }

    @Test(.timeLimit(.minutes(1))) func anUpstream429WithoutRetryAfterGetsOne() async throws {
        let yaml = """
            providers:
              - { name: mock, kind: openai, base_url: "MOCK/v1" }
            models:
              - { name: m, deployments: [ { provider: mock, model: "mock@status429" } ] }
            routing: { retries: 0 }
            cache: { enabled: false }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            let answer = try await live.post(
                "/v1/chat/completions", ["model": "m", "messages": [["role": "user", "content": "hello"]]])
            #expect(answer.status == 429)
            #expect(answer.headers.first(name: "retry-after") == "1")
        }
    }

    @Test func anAnswerTooLargeIsNamedWithoutInternals() {
        let failure = UpstreamClient.failure(NIOTooManyBytesError(maxBytes: 1024))
        #expect(failure == .malformed("the answer exceeds 1024 bytes (routing.max_response_bytes)"))
        #expect(!failure.gatewayError.message.contains("NIO"))
    }

    /// An OpenAI-compatible server that ignores `stream` and answers the whole completion: the client still
    /// gets a well-formed stream with the answer's text, its finish and `[DONE]`.
    @Test(.timeLimit(.minutes(1))) func aWholeAnswerToAStreamRequestIsStreamed() async throws {
        let router = Router()
        router.post("/v1/chat/completions") { _, _ in
            let answer =
                #"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"#
                + #""message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],"#
                + #""usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
        }
        try await TestUpstream.run(router) { upstream in
            let yaml = """
                providers:
                  - { name: unstreamed, kind: openai, base_url: "\(upstream)/v1" }
                models:
                  - { name: m, deployments: [ { provider: unstreamed, model: m } ] }
                cache: { enabled: false }
                """
            try await LiveGateway.run(yaml: yaml) { live in
                let answer = try await live.post(
                    "/v1/chat/completions",
                    ["model": "m", "stream": true, "messages": [["role": "user", "content": "hi"]]])
                #expect(answer.status == 200)
                #expect(answer.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
                #expect(answer.text.contains(#""content":"whole answer""#))
                #expect(answer.text.contains(#""finish_reason":"stop""#))
                #expect(answer.text.hasSuffix("data: [DONE]\n\n"))
                #expect(!answer.text.contains(#""error""#))
            }
        }
    }
}
