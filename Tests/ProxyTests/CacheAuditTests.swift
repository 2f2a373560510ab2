import Foundation
import Hummingbird
import Synchronization
import Testing

@testable import Proxy

/// Audits of semantic hits: an upstream that disagrees with the cached answers drives the group's estimate
/// up, tightens its operating point and retires the entries judged wrong; one that agrees lets the operating
/// point relax once the confidence sequence's bound is below the rate asked for.
@Suite struct CacheAuditTests {
    static func yaml(_ base: String, maxWrongHitRate: Double) -> String {
        """
        providers: [ { name: upstream, kind: openai, base_url: "\(base)/v1" } ]
        models: [ { name: chat, deployments: [ { provider: upstream, model: m } ] } ]
        cache: { scope: global, threshold: 0.85, verifier: { enabled: false }, max_wrong_hit_rate: \(maxWrongHitRate),
                 audit: { rate: 1.0, agreement: 0.8 },
                 embedder: { kind: local, model_dir: data/models/all-MiniLM-L6-v2, threads: 1 } }
        """
    }

    static func ask(_ live: LiveGateway, _ content: String) async throws -> String? {
        let answer = try await live.post(
            "/v1/chat/completions", ["model": "chat", "messages": [["role": "user", "content": .string(content)]]])
        #expect(answer.status == 200, "\(answer.text)")
        return answer.headers.first(name: "x-routershift-cache")
    }

    /// The audit report's group for `chat` once it counts `audits` (bounded wait).
    static func group(_ live: LiveGateway, audits: Int) async throws -> JSONValue {
        for _ in 0..<500 {
            let report = try await live.get("/admin/cache/audit").body
            if let group = report["groups"]?.array?.first, (group["audits"]?.integer ?? 0) >= Int64(audits) {
                return group
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("fewer than \(audits) audits within 5 s")
        return .null
    }

    static let topics = ["bake bread", "learn French", "fix a flat tyre", "grow tomatoes", "train a puppy", "brew tea"]

    @Test func anUpstreamThatDisagreesTightensTheGroupAndRetiresTheEntries() async throws {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let text = String(buffer: body)
            // The first answer (stored) is on topic; the audit's (a paraphrase asked again) is not.
            let content =
                text.contains("How can I") ? "Bananas are yellow and rich in potassium." : "Step by step, here is how."
            let answer =
                #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: answer))
            )
        }
        try await TestUpstream.run(router) { upstream in
            try await LiveGateway.run(yaml: Self.yaml(upstream, maxWrongHitRate: 0.05)) { live in
                for (index, topic) in Self.topics.enumerated() {
                    #expect(try await Self.ask(live, "How do I \(topic)?") == "miss")
                    #expect(try await Self.ask(live, "How can I \(topic)?") == "semantic-hit")
                    _ = try await Self.group(live, audits: index + 1)
                }
                // A request that refuses audits is served from the cache and not audited.
                #expect(try await Self.ask(live, "How do I make jam?") == "miss")
                let refusing = try await live.post(
                    "/v1/chat/completions",
                    ["model": "chat", "messages": [["role": "user", "content": "How can I make jam?"]]],
                    headers: [("x-routershift-cache-audit", "off")])
                #expect(refusing.headers.first(name: "x-routershift-cache") == "semantic-hit")
                // So is a key created to refuse them.
                let private_ = try await live.createKey(["name": "private", "cache_audit": false])
                let keyed = try await live.post(
                    "/v1/chat/completions",
                    ["model": "chat", "messages": [["role": "user", "content": "How can I make jam?"]]],
                    key: private_)
                #expect(keyed.headers.first(name: "x-routershift-cache") == "semantic-hit")
                // And one that asks the provider to store its completion: repeating it would store another.
                let storing = try await live.post(
                    "/v1/chat/completions",
                    ["model": "chat", "store": true, "messages": [["role": "user", "content": "How can I make jam?"]]])
                #expect(storing.headers.first(name: "x-routershift-cache") == "semantic-hit")
                let listed = try await live.get("/admin/keys").body["data"]?.array ?? []
                #expect(listed.first { $0["name"] == "private" }?["cache_audit"] == false)
                try await Task.sleep(for: .milliseconds(300))
                let group = try await Self.group(live, audits: Self.topics.count)
                #expect(group["audits"]?.integer == Int64(Self.topics.count))
                #expect(group["disagreements"]?.integer == Int64(Self.topics.count))
                #expect(group["estimate"]?.number == 1.0)
                let low = try #require(group["interval"]?.array?.first?.number)
                #expect(low > 0.05, "the wrong-hit share is known to exceed the rate")
                #expect(group["operating_point"]?["strictness"] == 0.01)
                // An entry judged wrong no longer answers semantically.
                #expect(try await Self.ask(live, "How can I \(Self.topics[0])?") == "miss")
                let labels = try await live.get("/admin/cache/labels").body["data"]?.array ?? []
                #expect(labels.filter { $0["source"] == "audit" && $0["correct"] == false }.count == Self.topics.count)
                // The audits' cost is logged as audit spend, under no key of a client.
                let logs = try await live.get("/admin/logs?limit=100").body["data"]?.array ?? []
                #expect(
                    logs.filter { $0["endpoint"] == "cache-audit" && $0["key_id"] == "audit" }.count
                        == Self.topics.count)
            }
        }
    }

    @Test func anUpstreamThatAgreesRelaxesTheGroupOnceTheBoundAllows() async throws {
        try await LiveGateway.run(yaml: Self.yaml("MOCK", maxWrongHitRate: 0.2)) { live in
            #expect(try await Self.ask(live, "How do I bake bread?") == "miss")
            var tightest = 0.0
            for audits in 1...50 {
                #expect(try await Self.ask(live, "How can I bake bread?") == "semantic-hit")
                let group = try await Self.group(live, audits: audits)
                tightest = max(tightest, group["operating_point"]?["strictness"]?.number ?? 0)
            }
            let group = try await Self.group(live, audits: 50)
            #expect(group["disagreements"]?.integer == 0)
            #expect(tightest == 0.05, "tightened while the bound was above 0.2")
            #expect(group["operating_point"]?["strictness"] == 0, "relaxed once the bound fell below it")
            let high = try #require(group["interval"]?.array?.last?.number)
            #expect(high < 0.2)
        }
    }

    @Test func nearMissesAreJudgedAgainstTheFreshAnswerWithoutASecondUpstreamCall() async throws {
        let (stored, near) = ("How do I bake bread?", "What is the best way to bake bread at home?")
        let vectors = try await CacheReplayTests.embedder().embed([stored, near])
        let cosine = Double(zip(vectors[0], vectors[1]).reduce(Float(0)) { $0 + $1.0 * $1.1 })
        try #require(cosine < 0.95 && cosine > 0.5, "cosine \(cosine)")
        // The near prompt's cosine is 0.02 below the threshold: within the near-miss band of 0.05.
        let threshold = String(format: "%.4f", cosine + 0.02)
        let calls = UpstreamCalls()
        let router = Router()
        router.post("/v1/chat/completions") { _, _ -> Response in
            calls.count.withLock { $0 += 1 }
            let answer =
                #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Step by step, here is how."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: answer))
            )
        }
        try await TestUpstream.run(router) { upstream in
            let yaml = Self.yaml(upstream, maxWrongHitRate: 0.05).replacingOccurrences(
                of: "threshold: 0.85", with: "threshold: \(threshold)")
            try await LiveGateway.run(yaml: yaml) { live in
                #expect(try await Self.ask(live, stored) == "miss")
                for _ in 0..<3 {
                    let missed = try await live.post(
                        "/v1/chat/completions",
                        ["model": "chat", "messages": [["role": "user", "content": .string(near)]]],
                        headers: [("x-routershift-cache", "no-store")])
                    #expect(missed.headers.first(name: "x-routershift-cache") == "miss")
                }
                var group = JSONValue.null
                for _ in 0..<500 {
                    group = try await live.get("/admin/cache/audit").body["groups"]?.array?.first ?? .null
                    if group["near_misses"]?["audits"]?.integer == 3 { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(group["near_misses"]?["audits"]?.integer == 3)
                #expect(group["near_misses"]?["disagreements"]?.integer == 0)
                #expect(group["audits"]?.integer == 0, "no hit was served")
                #expect(calls.count.withLock { $0 } == 4, "the misses' own answers were judged: no audit call upstream")
                let labels = try await live.get("/admin/cache/labels").body["data"]?.array ?? []
                let nearMisses = labels.filter { $0["source"] == "near-miss" }
                #expect(nearMisses.count == 3 && nearMisses.allSatisfy { $0["correct"] == true })
                #expect(
                    nearMisses.first?["prompt"]?.string == near && nearMisses.first?["matched_prompt"]?.string == stored
                )
                // A near-miss served nothing, so it withdraws nothing: the stored prompt still hits.
                #expect(try await Self.ask(live, stored) == "hit")
            }
        }
    }

    @Test func aJudgeGroupDecidesInsteadOfTheCosineOfTheAnswers() async throws {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            // The same answer every time, which the cosine would call agreement; the judge model says not.
            let content = text.contains("judge-model") ? "DIFFERENT." : "Step by step, here is how."
            let answer =
                #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: answer))
            )
        }
        try await TestUpstream.run(router) { upstream in
            let yaml = Self.yaml(upstream, maxWrongHitRate: 0.05)
                .replacingOccurrences(
                    of: "audit: { rate: 1.0, agreement: 0.8 }", with: "audit: { rate: 1.0, judge: judge }"
                )
                .replacingOccurrences(
                    of: "models: [ { name: chat, deployments: [ { provider: upstream, model: m } ] } ]",
                    with: "models: [ { name: chat, deployments: [ { provider: upstream, model: m } ] }, "
                        + "{ name: judge, cache: false, deployments: [ { provider: upstream, model: judge-model } ] } ]"
                )
            try await LiveGateway.run(yaml: yaml) { live in
                #expect(try await Self.ask(live, "How do I bake bread?") == "miss")
                #expect(try await Self.ask(live, "How can I bake bread?") == "semantic-hit")
                let group = try await Self.group(live, audits: 1)
                #expect(group["disagreements"]?.integer == 1)
                let logs = try await live.get("/admin/logs?limit=100").body["data"]?.array ?? []
                let audits = logs.filter { $0["endpoint"] == "cache-audit" }.compactMap { $0["model"]?.string }
                #expect(audits.sorted() == ["chat", "judge"], "the answer and the verdict are both audit spend")
            }
        }
    }
}

/// Requests an upstream of a test received.
final class UpstreamCalls: Sendable {
    let count = Mutex(0)
}
