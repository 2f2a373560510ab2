import Hummingbird
import NIOCore
import Testing

@testable import Proxy

/// A stream's silences are bounded: before its first chunk by the attempt's deadline, after it by the
/// provider's timeout. (The shared client's read timeout is the largest of all providers', 60 s at least.)
@Suite struct StreamTimeoutTests {
    /// An upstream that sends its head, then `first` events, then nothing until `released`.
    static func silentUpstream(first: Int, released: Shared<Bool>) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/chat/completions") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    let chunk =
                        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","#
                        + #""choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}"#
                    try await writer.write(ByteBuffer(string: String(repeating: "data: \(chunk)\n\n", count: first)))
                    if first == 0 { try await writer.write(ByteBuffer(string: ": waiting\n")) }
                    while !released.update({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                    try await writer.finish(nil)
                })
        }
        return router
    }

    static func yaml(_ upstream: String, timeout: String, deadline: String) -> String {
        """
        providers:
          - { name: silent, kind: openai, base_url: "\(upstream)/v1", timeout: \(timeout) }
        models:
          - { name: quiet, deployments: [ { provider: silent, model: m } ] }
        routing: { retries: 0, deadline: \(deadline) }
        cache: { enabled: false }
        """
    }

    static let request: JSONValue = [
        "model": "quiet", "stream": true, "messages": [["role": "user", "content": "hi"]],
    ]

    @Test(.timeLimit(.minutes(1))) func silenceAfterTheFirstChunkEndsTheStreamWithAnError() async throws {
        let released = Shared(false)
        try await TestUpstream.run(Self.silentUpstream(first: 1, released: released)) { upstream in
            defer { released.update { $0 = true } }
            // 5 s rather than 1: on a loaded machine (two cores, a build beside the tests) the head and first
            // chunk took more than a second to arrive, which this test is not about.
            try await LiveGateway.run(yaml: Self.yaml(upstream, timeout: "5s", deadline: "600s")) { live in
                let answer = try await live.post("/v1/chat/completions", Self.request)
                #expect(answer.status == 200)
                #expect(answer.text.contains(#""content":"hi""#))
                #expect(answer.text.contains("upstream_timeout"))
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func theDeadlineBoundsTheWaitForTheFirstChunk() async throws {
        let released = Shared(false)
        try await TestUpstream.run(Self.silentUpstream(first: 0, released: released)) { upstream in
            defer { released.update { $0 = true } }
            try await LiveGateway.run(yaml: Self.yaml(upstream, timeout: "600s", deadline: "500ms")) { live in
                let answer = try await live.post("/v1/chat/completions", Self.request)
                #expect(answer.status == 504)
                #expect(answer.body["error"]?["code"]?.string == "upstream_timeout")
            }
        }
    }
}
