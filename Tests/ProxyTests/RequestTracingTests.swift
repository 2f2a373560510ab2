import Foundation
import HTTPTypes
import Hummingbird
import InMemoryTracing
import Synchronization
import Testing
import Tracing

@testable import Proxy

/// Request spans: one server span per request carrying the GenAI attributes, with children for
/// authentication, the cache lookup, each upstream attempt and the cache store; a client's trace continued.
@Suite struct RequestTracingTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
        models:
          - { name: chat, deployments: [ { name: small, provider: mock, model: mock-small } ] }
          - name: retried
            strategy: failover
            deployments:
              - { name: failing, provider: mock, model: "mock@fail500", priority: 0 }
              - { name: working, provider: mock, model: mock-small, priority: 1 }
        routing: { retries: 1, backoff: 1ms }
        cache: { semantic: false }
        """

    static func chat(_ model: String, _ content: String, stream: Bool = false) -> JSONValue {
        [
            "model": .string(model), "messages": [["role": "user", "content": .string(content)]],
            "stream": .bool(stream),
        ]
    }

    /// The finished spans of the trace whose server span answered with `requestID`, by name.
    static func trace(_ tracer: InMemoryTracer, requestID: String) async throws -> (
        server: FinishedInMemorySpan, children: [FinishedInMemorySpan]
    ) {
        var server: FinishedInMemorySpan?
        for _ in 0..<200 {
            server = tracer.finishedSpans.first {
                $0.attributes["routershift.request_id"]?.toSpanAttribute() == .string(requestID)
            }
            if server != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let root = try #require(server, "no server span for \(requestID)")
        let children = tracer.finishedSpans.filter { $0.traceID == root.traceID && $0.spanID != root.spanID }
        return (root, children)
    }

    static func string(_ span: FinishedInMemorySpan, _ key: String) -> String? {
        if case .string(let value) = span.attributes[key]?.toSpanAttribute() { return value }
        return nil
    }

    static func int(_ span: FinishedInMemorySpan, _ key: String) -> Int64? {
        if case .int64(let value) = span.attributes[key]?.toSpanAttribute() { return value }
        return nil
    }

    @Test func aMissAndAHitHaveTheirSpanTreesAndGenAIAttributes() async throws {
        let tracer = InMemoryTracer()
        try await LiveGateway.run(yaml: Self.yaml, tracer: tracer) { live in
            let miss = try await live.post("/v1/chat/completions", Self.chat("chat", "trace me"))
            #expect(miss.status == 200)
            let (server, children) = try await Self.trace(
                tracer, requestID: try #require(miss.headers.first(name: "x-request-id")))
            #expect(server.operationName == "POST /v1/chat/completions")
            #expect(server.kind == .server)
            #expect(Self.string(server, "gen_ai.operation.name") == "chat")
            #expect(Self.string(server, "gen_ai.request.model") == "chat")
            #expect(Self.string(server, "gen_ai.provider.name") == "openai")
            #expect(Self.string(server, "gen_ai.response.model") != nil)
            #expect(server.attributes["gen_ai.response.finish_reasons"]?.toSpanAttribute() == .stringArray(["stop"]))
            #expect((Self.int(server, "gen_ai.usage.output_tokens") ?? 0) > 0)
            #expect(Self.string(server, "routershift.cache.result") == "miss")
            #expect(Self.string(server, "routershift.deployment") == "small")
            #expect(Self.int(server, "http.response.status_code") == 200)
            let names = Set(children.map(\.operationName))
            #expect(names == ["authenticate", "cache.lookup", "chat mock-small", "cache.store"])
            #expect(children.allSatisfy { $0.parentSpanID == server.spanID })
            let upstream = try #require(children.first { $0.operationName == "chat mock-small" })
            #expect(upstream.kind == .client)
            #expect(Self.string(upstream, "routershift.breaker.state") == "closed")

            let hit = try await live.post("/v1/chat/completions", Self.chat("chat", "trace me"))
            #expect(hit.headers.first(name: "x-routershift-cache") == "hit")
            let hitTrace = try await Self.trace(
                tracer, requestID: try #require(hit.headers.first(name: "x-request-id")))
            #expect(Self.string(hitTrace.server, "routershift.cache.result") == "hit")
            #expect(Set(hitTrace.children.map(\.operationName)) == ["authenticate", "cache.lookup"])
            let lookup = try #require(hitTrace.children.first { $0.operationName == "cache.lookup" })
            #expect(Self.string(lookup, "routershift.cache.result") == "hit")

        }
    }

    @Test func theLogsTraceIDIsReadFromAW3CTraceparent() {
        #expect(
            RequestTrace.traceID(ofTraceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
                == "0af7651916cd43dd8448eb211c80319c")
        #expect(RequestTrace.traceID(ofTraceparent: "00-short-b7ad6b7169203331-01") == nil)
        #expect(RequestTrace.traceID(ofTraceparent: "garbage") == nil)
    }

    @Test func anUnmatchedRouteIsNamedAsSuchNotByItsPath() async throws {
        let tracer = InMemoryTracer()
        try await LiveGateway.run(yaml: Self.yaml, tracer: tracer) { live in
            let answer = try await live.get("/v1/no-such-route/secret-looking-id")
            #expect(answer.status == 404)
            let (server, _) = try await Self.trace(
                tracer, requestID: try #require(answer.headers.first(name: "x-request-id")))
            #expect(server.operationName == "GET unmatched route")
            #expect(Self.string(server, "url.path") == "/v1/no-such-route/secret-looking-id")
        }
    }

    @Test func aRetriedRequestHasOneClientSpanPerAttempt() async throws {
        let tracer = InMemoryTracer()
        try await LiveGateway.run(yaml: Self.yaml, tracer: tracer) { live in
            let answer = try await live.post("/v1/chat/completions", Self.chat("retried", "again"))
            #expect(answer.status == 200, "\(answer.text)")
            let (server, children) = try await Self.trace(
                tracer, requestID: try #require(answer.headers.first(name: "x-request-id")))
            let attempts = children.filter { $0.kind == .client }.sorted {
                (Self.int($0, "routershift.attempt") ?? 0) < (Self.int($1, "routershift.attempt") ?? 0)
            }
            #expect(attempts.map { Self.string($0, "routershift.deployment") } == ["failing", "working"])
            #expect(attempts.map { Self.int($0, "routershift.attempt") } == [1, 2])
            #expect(attempts.first?.status?.code == .error)
            #expect(attempts.first?.errors.isEmpty == false)
            #expect(attempts.last?.status == nil)
            #expect(Self.int(server, "routershift.retries") == 1)
        }
    }

    @Test func aStreamsSpanEndsAfterItsLastEventWithItsUsage() async throws {
        let tracer = InMemoryTracer()
        try await LiveGateway.run(yaml: Self.yaml, tracer: tracer) { live in
            let answer = try await live.post(
                "/v1/chat/completions", Self.chat("chat", "a streamed answer", stream: true))
            #expect(answer.text.contains("data: [DONE]"))
            let (server, children) = try await Self.trace(
                tracer, requestID: try #require(answer.headers.first(name: "x-request-id")))
            #expect(server.attributes["gen_ai.response.finish_reasons"]?.toSpanAttribute() == .stringArray(["stop"]))
            #expect((Self.int(server, "gen_ai.usage.output_tokens") ?? 0) > 0)
            #expect(children.contains { $0.operationName == "chat mock-small" })
        }
    }

    @Test func aClientsTraceIsContinuedAndPropagatedUpstream() async throws {
        let seen = Mutex<[String]>([])
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            seen.withLock { $0.append(request.headers[HTTPField.Name(InMemoryTracer.traceIDKey)!] ?? "none") }
            let body =
                #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: body)))
        }
        try await TestUpstream.run(router) { upstream in
            let yaml = """
                providers: [ { name: recorder, kind: openai, base_url: "\(upstream)/v1" } ]
                models: [ { name: chat, deployments: [ { provider: recorder, model: m } ] } ]
                cache: { enabled: false }
                """
            let tracer = InMemoryTracer()
            try await LiveGateway.run(yaml: yaml, tracer: tracer) { live in
                let answer = try await live.post(
                    "/v1/chat/completions", Self.chat("chat", "hi"),
                    headers: [
                        (InMemoryTracer.traceIDKey, "client-trace-1"), (InMemoryTracer.spanIDKey, "client-span-1"),
                    ])
                #expect(answer.status == 200, "\(answer.text)")
                let (server, children) = try await Self.trace(
                    tracer, requestID: try #require(answer.headers.first(name: "x-request-id")))
                #expect(server.traceID == "client-trace-1")
                #expect(server.parentSpanID == "client-span-1")
                #expect(children.contains { $0.kind == .client })
                #expect(seen.withLock { $0 } == ["client-trace-1"])
            }
        }
    }
}
