import NIOCore
import Testing

@testable import Proxy

/// How a JSON body must be encoded: invalid UTF-8 is refused the same way on every route (a 400 in the
/// caller's protocol, no upstream call; before, chat routes repaired it to U+FFFD and sent it on while others
/// refused it), and a compressed body is refused naming its encoding.
@Suite struct BodyEncodingTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
        models:
          - { name: m, deployments: [ { provider: mock, model: mock-small } ] }
          - { name: embedder, endpoints: [embeddings], deployments: [ { provider: mock, model: mock-embedding } ] }
        cache: { enabled: false }
        """

    /// `prefix`, one byte that is never UTF-8, then `suffix`.
    static func body(_ prefix: String, _ suffix: String) -> [UInt8] { Array(prefix.utf8) + [0xFF] + Array(suffix.utf8) }

    @Test(.timeLimit(.minutes(1))) func everyRouteRefusesItInItsOwnFormat() async throws {
        let chat = (#"{"model":"m","messages":[{"role":"user","content":"bad "#, #""}]}"#)
        let cases: [(path: String, body: [UInt8], headers: [(String, String)], shape: String)] = [
            ("/v1/chat/completions", Self.body(chat.0, chat.1), [], "openai"),
            ("/v1/responses", Self.body(#"{"model":"m","input":"bad "#, #""}"#), [], "openai"),
            ("/v1/embeddings", Self.body(#"{"model":"embedder","input":"bad "#, #""}"#), [], "openai"),
            (
                "/v1/messages",
                Self.body(#"{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"x"#, #""}]}"#),
                [("anthropic-version", "2023-06-01")], "anthropic"
            ),
            (
                "/v1beta/models/m:generateContent", Self.body(#"{"contents":[{"parts":[{"text":"x"#, #""}]}]}"#), [],
                "gemini"
            ),
            ("/admin/keys", Self.body(#"{"name":"k"#, #""}"#), [], "openai"),
        ]
        try await LiveGateway.run(yaml: Self.yaml) { live in
            for item in cases {
                let answer = try await live.send(
                    item.path, method: .POST, body: item.body, key: nil, headers: item.headers)
                #expect(answer.status == 400, "\(item.path): \(answer.text)")
                let message: String?
                switch item.shape {
                case "anthropic":
                    #expect(answer.body["type"] == "error", "\(item.path)")
                    message = answer.body["error"]?["message"]?.string
                case "gemini":
                    #expect(answer.body["error"]?["status"] == "INVALID_ARGUMENT", "\(item.path)")
                    message = answer.body["error"]?["message"]?.string
                default:
                    #expect(answer.body["error"]?["type"] == "invalid_request_error", "\(item.path)")
                    message = answer.body["error"]?["message"]?.string
                }
                #expect(message?.contains("invalid UTF-8") == true, "\(item.path): \(answer.text)")
            }
            #expect(try await live.upstreamCount("mock-small") == 0)
            #expect(try await live.upstreamCount("mock-embedding", path: "/v1/embeddings") == 0)
        }
    }

    /// The gateway decompresses nothing: a compressed body is refused with a 415, not misread as bad JSON.
    @Test(.timeLimit(.minutes(1))) func aCompressedBodyIsRefusedNamingItsEncoding() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let answer = try await live.send(
                "/v1/chat/completions", method: .POST, body: [0x1F, 0x8B, 0x08, 0x00], key: nil,
                headers: [("Content-Encoding", "gzip")])
            #expect(answer.status == 415)
            #expect(answer.body["error"]?["message"]?.string?.contains("Content-Encoding: gzip") == true)
            #expect(try await live.upstreamCount("mock-small") == 0)
        }
    }
}
