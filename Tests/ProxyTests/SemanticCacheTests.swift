import Foundation
import Testing

@testable import Proxy

/// The semantic cache through the live gateway: the local embedder, the mock upstream counting what
/// reaches it. The verifier is off here (VerifierTests cover it), so semantic hits are decided by cosine.
@Suite(.serialized) struct SemanticCacheTests {
    static func yaml(scope: String = "key", extra: String = "") -> String {
        """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1" }
          - { name: mock-anthropic, kind: anthropic, base_url: "MOCK" }
        models:
          - { name: chat, deployments: [ { provider: mock, model: mock-small } ] }
          - { name: slow, deployments: [ { provider: mock, model: "mock@latency300" } ] }
        cache: { enabled: true, threshold: 0.9, scope: \(scope), verifier: { enabled: false }\(extra) }
        """
    }

    static func chat(_ text: String, model: String = "chat", system: String? = nil, extra: [String: JSONValue] = [:])
        -> JSONValue
    {
        var messages: [JSONValue] = []
        if let system { messages.append(["role": "system", "content": .string(system)]) }
        messages.append(["role": "user", "content": .string(text)])
        var body: [String: JSONValue] = ["model": .string(model), "messages": .array(messages), "max_tokens": 64]
        body.merge(extra) { _, new in new }
        return .object(body)
    }

    @Test func anIdenticalRequestIsAnExactHitAndNeverReachesTheUpstream() async throws {
        try await LiveGateway.run(yaml: Self.yaml()) { live in
            let first = try await live.post("/v1/chat/completions", Self.chat("What is a semantic cache?"))
            #expect(first.headers.first(name: "x-routershift-cache") == "miss")
            let second = try await live.post("/v1/chat/completions", Self.chat("What is a semantic cache?"))
            #expect(second.headers.first(name: "x-routershift-cache") == "hit")
            #expect(
                second.headers.first(name: "x-routershift-cache-key")
                    == first.headers.first(name: "x-routershift-cache-key"))
            #expect(
                second.body["choices"]?.array?[0]["message"]?["content"]
                    == first.body["choices"]?.array?[0]["message"]?["content"])
            #expect(try await live.upstreamCount("mock-small") == 1)
        }
    }

    @Test func aParaphraseIsASemanticHit() async throws {
        try await LiveGateway.run(yaml: Self.yaml()) { live in
            _ = try await live.post("/v1/chat/completions", Self.chat("How do I reset my password?"))
            let paraphrase = try await live.post("/v1/chat/completions", Self.chat("how can I reset my password"))
            #expect(paraphrase.headers.first(name: "x-routershift-cache") == "semantic-hit")
            let similarity = Double(paraphrase.headers.first(name: "x-routershift-cache-similarity") ?? "0") ?? 0
            #expect(similarity > 0.9 && similarity < 1)
            #expect(
                paraphrase.body["choices"]?.array?[0]["message"]?["content"]
                    == "Mock answer to: How do I reset my password?")
            #expect(try await live.upstreamCount("mock-small") == 1)
        }
    }

    @Test func scopeIsAHardFilter() async throws {
        try await LiveGateway.run(yaml: Self.yaml(scope: "key")) { live in
            let alice = try await live.createKey(["name": "alice"])
            let bob = try await live.createKey(["name": "bob"])
            _ = try await live.post("/v1/chat/completions", Self.chat("Explain HNSW briefly."), key: alice)
            let bobs = try await live.post("/v1/chat/completions", Self.chat("Explain HNSW briefly."), key: bob)
            #expect(bobs.headers.first(name: "x-routershift-cache") == "miss")
            let again = try await live.post("/v1/chat/completions", Self.chat("Explain HNSW briefly."), key: alice)
            #expect(again.headers.first(name: "x-routershift-cache") == "hit")
        }
        try await LiveGateway.run(yaml: Self.yaml(scope: "global")) { live in
            let alice = try await live.createKey(["name": "alice"])
            let bob = try await live.createKey(["name": "bob"])
            _ = try await live.post("/v1/chat/completions", Self.chat("Explain HNSW briefly."), key: alice)
            let bobs = try await live.post("/v1/chat/completions", Self.chat("Explain HNSW briefly."), key: bob)
            #expect(bobs.headers.first(name: "x-routershift-cache") == "hit")
        }
    }

    @Test func anotherSystemPromptToolsOrTemperatureIsAMiss() async throws {
        try await LiveGateway.run(yaml: Self.yaml()) { live in
            let question = "What does a gateway do?"
            _ = try await live.post("/v1/chat/completions", Self.chat(question, system: "Be brief."))
            let variants: [JSONValue] = [
                Self.chat(question, system: "Answer in French."),
                Self.chat(question, system: "Be brief.", extra: ["temperature": 0.9]),
                Self.chat(
                    question, system: "Be brief.",
                    extra: [
                        "tools": [
                            ["type": "function", "function": ["name": "search", "parameters": ["type": "object"]]]
                        ]
                    ]),
                Self.chat(question, system: "Be brief.", extra: ["max_tokens": 10]),
            ]
            for variant in variants {
                let answer = try await live.post("/v1/chat/completions", variant)
                #expect(answer.headers.first(name: "x-routershift-cache") == "miss", "\(variant)")
            }
            let same = try await live.post("/v1/chat/completions", Self.chat(question, system: "Be brief."))
            #expect(same.headers.first(name: "x-routershift-cache") == "hit")
        }
    }

    @Test func headersControlTheCache() async throws {
        try await LiveGateway.run(yaml: Self.yaml()) { live in
            let off = try await live.post(
                "/v1/chat/completions", Self.chat("Cache controls?"), headers: [("x-routershift-cache", "off")])
            #expect(off.headers.first(name: "x-routershift-cache") == "bypass")
            let noStore = try await live.post(
                "/v1/chat/completions", Self.chat("Cache controls?"), headers: [("Cache-Control", "no-store")])
            #expect(noStore.headers.first(name: "x-routershift-cache") == "miss")
            let stored = try await live.post("/v1/chat/completions", Self.chat("Cache controls?"))
            #expect(
                stored.headers.first(name: "x-routershift-cache") == "miss", "neither off nor no-store stored anything")
            let refreshed = try await live.post(
                "/v1/chat/completions", Self.chat("Cache controls?"), headers: [("x-routershift-cache", "refresh")])
            #expect(refreshed.headers.first(name: "x-routershift-cache") == "refresh")
            #expect(try await live.upstreamCount("mock-small") == 4)
            let hit = try await live.post("/v1/chat/completions", Self.chat("Cache controls?"))
            #expect(hit.headers.first(name: "x-routershift-cache") == "hit")
            #expect(
                hit.headers.first(name: "x-routershift-cache-key")
                    == refreshed.headers.first(name: "x-routershift-cache-key"))

            _ = try await live.post("/v1/chat/completions", Self.chat("How do I reset my password?"))
            let strict = try await live.post(
                "/v1/chat/completions", Self.chat("how can I reset my password"),
                headers: [("x-routershift-cache-threshold", "0.999")])
            #expect(strict.headers.first(name: "x-routershift-cache") == "miss", "a header may raise the threshold")
            let lenient = try await live.post(
                "/v1/chat/completions", Self.chat("How should I cook pasta?"),
                headers: [("x-routershift-cache-threshold", "0.1")])
            #expect(lenient.headers.first(name: "x-routershift-cache") == "miss", "but never lower it below the floor")
            let bad = try await live.post(
                "/v1/chat/completions", Self.chat("x"), headers: [("x-routershift-cache", "maybe")])
            #expect(bad.status == 400)
        }
    }

    /// On the gateway's clock, moved by hand: no waiting for the TTL to pass.
    @Test func anEntryExpiresAfterItsTTL() async throws {
        let clock = ManualClock()
        try await LiveGateway.run(yaml: Self.yaml(), clock: clock) { live in
            _ = try await live.post(
                "/v1/chat/completions", Self.chat("Short-lived?"), headers: [("x-routershift-cache-ttl", "60")])
            clock.advance(59)
            #expect(
                try await live.post("/v1/chat/completions", Self.chat("Short-lived?")).headers.first(
                    name: "x-routershift-cache") == "hit")
            clock.advance(2)
            #expect(
                try await live.post("/v1/chat/completions", Self.chat("Short-lived?")).headers.first(
                    name: "x-routershift-cache") == "miss")
        }
    }

    @Test func theLeastRecentlyUsedEntriesGoFirstAtTheSizeBound() async throws {
        let clock = ManualClock()
        try await LiveGateway.run(yaml: Self.yaml(extra: ", max_entries: 2"), clock: clock) { live in
            let cache = try #require(live.gateway.cache)
            _ = try await live.post("/v1/chat/completions", Self.chat("First question about oceans"))
            _ = try await live.post("/v1/chat/completions", Self.chat("Second question about mountains"))
            clock.advance(1)
            _ = try await live.post("/v1/chat/completions", Self.chat("First question about oceans"))
            _ = try await live.post("/v1/chat/completions", Self.chat("Third question about deserts"))
            let (_, evicted) = try cache.sweep()
            #expect(evicted == 1)
            #expect(
                try await live.post("/v1/chat/completions", Self.chat("First question about oceans")).headers.first(
                    name: "x-routershift-cache") == "hit")
            #expect(
                try await live.post("/v1/chat/completions", Self.chat("Third question about deserts")).headers.first(
                    name: "x-routershift-cache") == "hit")
            let second = try await live.post("/v1/chat/completions", Self.chat("Second question about mountains"))
            #expect(second.headers.first(name: "x-routershift-cache") == "miss")
        }
    }

    @Test func identicalConcurrentRequestsReachTheUpstreamOnce() async throws {
        try await LiveGateway.run(yaml: Self.yaml()) { live in
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await live.post("/v1/chat/completions", Self.chat("Coalesce me", model: "slow")).headers
                            .first(name: "x-routershift-cache") ?? ""
                    }
                }
                var results: [String] = []
                for try await result in group { results.append(result) }
                #expect(results.sorted() == ["hit", "hit", "hit", "hit", "hit", "miss"])
            }
            #expect(try await live.upstreamCount("mock@latency300") == 1)
        }
    }

    /// Many semantic hits at once read the database from every cooperative thread; none may wait for a
    /// connection that only a suspended task can give back.
    @Test(.timeLimit(.minutes(2))) func concurrentSemanticHitsNeverStall() async throws {
        let pairs = [
            ("How do I reset my password?", "how can I reset my password"),
            ("What are your opening hours?", "when are you open"),
            ("How can I change my billing address?", "how do I update my billing address"),
            ("Where is my order?", "where is my order right now"),
        ]
        try await LiveGateway.run(yaml: Self.yaml(scope: "global")) { live in
            for (prompt, _) in pairs { _ = try await live.post("/v1/chat/completions", Self.chat(prompt)) }
            let outcomes = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<64 {
                    group.addTask {
                        var outcomes: [String] = []
                        for round in 0..<24 {
                            let paraphrase = pairs[(worker + round) % pairs.count].1
                            let answer = try await live.post("/v1/chat/completions", Self.chat(paraphrase))
                            outcomes.append(
                                "\(answer.status) \(answer.headers.first(name: "x-routershift-cache") ?? "-")")
                        }
                        return outcomes
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(outcomes.count == 64 * 24)
            #expect(outcomes.allSatisfy { $0.hasPrefix("200 ") }, "\(Set(outcomes))")
            #expect(outcomes.filter { $0 == "200 semantic-hit" }.count >= 64 * 12, "\(Set(outcomes))")
        }
    }

    @Test func aStreamedMissIsStoredAndAStreamedHitReplaysAsSSE() async throws {
        try await LiveGateway.run(yaml: Self.yaml()) { live in
            let body = Self.chat(
                "Stream this answer", extra: ["stream": true, "stream_options": ["include_usage": true]])
            let miss = try await live.post("/v1/chat/completions", body)
            #expect(miss.headers.first(name: "x-routershift-cache") == "miss")
            try await Task.sleep(nanoseconds: 200_000_000)
            let hit = try await live.post("/v1/chat/completions", body)
            #expect(hit.headers.first(name: "x-routershift-cache") == "hit")
            #expect(hit.headers.first(name: "content-type") == "text/event-stream")
            let events = hit.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            var text = ""
            for event in events.dropLast() {
                let json = try JSONValue.parse(Array(event.dropFirst(6).utf8))
                text += json["choices"]?.array?.first?["delta"]?["content"]?.string ?? ""
            }
            #expect(text == "Mock answer to: Stream this answer")
            #expect(try await live.upstreamCount("mock-small") == 1)
        }
    }

    @Test func aPromptCachedThroughOpenAIIsAHitThroughAnthropicAndGemini() async throws {
        try await LiveGateway.run(yaml: Self.yaml()) { live in
            _ = try await live.post("/v1/chat/completions", Self.chat("Which protocol asked?"))
            let anthropic = try await live.post(
                "/v1/messages",
                [
                    "model": "chat", "max_tokens": 64,
                    "messages": [["role": "user", "content": "Which protocol asked?"]],
                ])
            #expect(anthropic.headers.first(name: "x-routershift-cache") == "hit")
            #expect(anthropic.body["content"]?.array?[0]["text"] == "Mock answer to: Which protocol asked?")
            let streamed = try await live.post(
                "/v1/messages",
                [
                    "model": "chat", "max_tokens": 64, "stream": true,
                    "messages": [["role": "user", "content": "Which protocol asked?"]],
                ])
            #expect(streamed.headers.first(name: "x-routershift-cache") == "hit")
            #expect(streamed.text.contains("event: message_stop"))
            let gemini = try await live.post(
                "/v1beta/models/chat:generateContent",
                [
                    "contents": [["role": "user", "parts": [["text": "Which protocol asked?"]]]],
                    "generationConfig": ["maxOutputTokens": 64],
                ])
            #expect(gemini.headers.first(name: "x-routershift-cache") == "hit")
            #expect(
                gemini.body["candidates"]?.array?[0]["content"]?["parts"]?.array?[0]["text"]
                    == "Mock answer to: Which protocol asked?")
            #expect(try await live.upstreamCount("mock-small") == 1)
        }
    }
}
