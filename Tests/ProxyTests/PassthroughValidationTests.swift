import AsyncHTTPClient
import NIOCore
import Testing

@testable import Proxy

/// Numbers a passthrough endpoint forwards are checked at the gateway, with the parameter named; the mock
/// upstream refuses what it cannot serve instead of trapping or growing.
@Suite struct PassthroughValidationTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
        models:
          - { name: dall-e-3, endpoints: [images], deployments: [ { provider: mock, model: mock-image } ] }
          - { name: rerank-v3, endpoints: [rerank], deployments: [ { provider: mock, model: mock-rerank } ] }
        cache: { enabled: false }
        """

    @Test(.timeLimit(.minutes(1))) func theGatewayRefusesOutOfRangeCountsNamingThem() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let images = try await live.post(
                "/v1/images/generations", ["model": "dall-e-3", "prompt": "a cat", "n": 1_000_000])
            #expect(images.status == 400)
            #expect(images.body["error"]?["param"]?.string == "n")
            let rerank = try await live.post(
                "/v1/rerank", ["model": "rerank-v3", "query": "cat", "documents": ["a cat"], "top_n": -1])
            #expect(rerank.status == 400)
            #expect(rerank.body["error"]?["param"]?.string == "top_n")
            #expect(try await live.upstreamCount("mock-image", path: "/v1/images/generations") == 0)
            #expect(try await live.upstreamCount("mock-rerank", path: "/v1/rerank") == 0)
            let fine = try await live.post(
                "/v1/rerank", ["model": "rerank-v3", "query": "cat", "documents": ["a cat", "a dog"], "top_n": 1])
            #expect(fine.status == 200)
            #expect(fine.body["results"]?.array?.count == 1)
        }
    }

    @Test(.timeLimit(.minutes(1))) func theMockRefusesWhatItCannotServe() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let cases: [(String, JSONValue, String)] = [
                (
                    "/v1/chat/completions",
                    ["model": "m", "n": 1_000_000, "messages": [["role": "user", "content": "hi"]]], "n"
                ),
                ("/v1/images/generations", ["model": "m", "prompt": "p", "n": 1_000_000], "n"),
                ("/v1/rerank", ["model": "m", "query": "q", "documents": ["d"], "top_n": -1], "top_n"),
                ("/v1/audio/speech", ["model": "m", "input": "i", "size": 1_099_511_627_776], "size"),
                ("/v1/embeddings", ["model": "m", "input": "i", "dimensions": 100_000_000], "dimensions"),
            ]
            for (path, body, param) in cases {
                var request = HTTPClientRequest(url: live.mockURL + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body.serialized()))
                let response = try await live.client.execute(request, timeout: .seconds(30))
                let answer = try JSONValue.parse(
                    Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
                #expect(response.status.code == 400, "\(path)")
                #expect(answer["error"]?["param"]?.string == param, "\(path)")
            }
        }
    }
}
