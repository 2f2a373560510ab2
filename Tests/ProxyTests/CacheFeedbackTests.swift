import Foundation
import Testing

@testable import Proxy

/// Feedback on semantic hits: a wrong hit stops being served to the key that said so (others in a shared
/// scope still get it), a key cannot judge another key's requests, labels wait for the master key's review,
/// and deleting a label serves the pair again.
@Suite struct CacheFeedbackTests {
    static let yaml = """
        providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
        models: [ { name: chat, deployments: [ { provider: mock, model: mock-small } ] } ]
        cache: { scope: global, threshold: 0.85, verifier: { enabled: false },
                 embedder: { kind: local, model_dir: data/models/all-MiniLM-L6-v2, threads: 1 } }
        """
    static let stored = "What is the capital of France?"
    static let paraphrase = "What's the capital city of France?"

    static func ask(_ live: LiveGateway, _ content: String, key: String) async throws -> (
        result: String?, requestID: String
    ) {
        let answer = try await live.post(
            "/v1/chat/completions", ["model": "chat", "messages": [["role": "user", "content": .string(content)]]],
            key: key)
        #expect(answer.status == 200, "\(answer.text)")
        return (answer.headers.first(name: "x-routershift-cache"), answer.headers.first(name: "x-request-id") ?? "")
    }

    @Test func aWrongHitIsWithdrawnForItsKeyOnlyAndALabelWaitsForReview() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let first = try await live.createKey(["name": "first"])
            let second = try await live.createKey(["name": "second"])
            #expect(try await Self.ask(live, Self.stored, key: first).result == "miss")
            let hit = try await Self.ask(live, Self.paraphrase, key: first)
            #expect(hit.result == "semantic-hit")

            // Another key's request reads as unknown; a malformed body is refused.
            let foreign = try await live.post(
                "/v1/cache/feedback", ["request_id": .string(hit.requestID), "correct": false], key: second)
            #expect(foreign.status == 404)
            #expect(foreign.body["error"]?["code"] == "cache_hit_not_found")
            #expect(try await live.post("/v1/cache/feedback", ["request_id": "x"], key: first).status == 400)

            let wrong = try await live.post(
                "/v1/cache/feedback", ["request_id": .string(hit.requestID), "correct": false], key: first)
            #expect(wrong.status == 200, "\(wrong.text)")
            #expect(wrong.body["withdrawn"] == true && wrong.body["status"] == "pending")

            // The other key still gets the hit; the key that judged it no longer does.
            #expect(try await Self.ask(live, Self.paraphrase, key: second).result == "semantic-hit")
            let before = try await live.upstreamCount("mock-small")
            #expect(try await Self.ask(live, Self.paraphrase, key: first).result == "miss")
            #expect(try await live.upstreamCount("mock-small") == before + 1)

            let pending = try await live.get("/admin/cache/labels?status=pending").body["data"]?.array ?? []
            #expect(pending.count == 1)
            let label = try #require(pending.first)
            #expect(label["id"] != nil && label["id"] == wrong.body["label_id"], "the answer names the label it made")
            #expect(label["prompt"] == .string(Self.paraphrase) && label["matched_prompt"] == .string(Self.stored))
            #expect(label["correct"] == false && label["status"] == "pending")
            #expect(try await live.get("/admin/cache/labels", key: first).status == 403)

            // The dashboard's list: the request's prompt beside the one that answered it.
            let hits = try await live.get("/admin/cache/hits?limit=5").body["data"]?.array ?? []
            #expect(hits.first?["prompt"] == .string(Self.paraphrase))
            #expect(hits.first?["matched_prompt"] == .string(Self.stored))
            #expect(try await live.get("/admin/cache/hits?limit=lots").status == 400)
            #expect(try await live.get("/admin/cache/labels?limit=0").status == 400)

            // A purged entry takes what was withdrawn from it along.
            let entry = try #require(label["entry_id"]?.integer)
            #expect(live.gateway.cache?.withdrawals.withLock { $0.isEmpty } == false)
            #expect(try await live.post("/admin/cache/purge", ["id": .integer(entry)]).status == 200)
            #expect(live.gateway.cache?.withdrawals.withLock { $0.isEmpty } == true)
            #expect(try await live.get("/admin/cache/hits").body["data"]?.array?.first?["matched_prompt"] == .null)
        }
    }

    @Test func theMasterKeyApprovesOrDeletesLabelsAndADeletedOneServesThePairAgain() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let key = try await live.createKey(["name": "k"])
            _ = try await Self.ask(live, Self.stored, key: key)
            let hit = try await Self.ask(live, Self.paraphrase, key: key)
            #expect(hit.result == "semantic-hit")
            let right = try await live.post(
                "/v1/cache/feedback", ["request_id": .string(hit.requestID), "correct": true], key: key)
            #expect(right.body["withdrawn"] == false)
            // Given again, the judgement replaces the first one.
            let wrong = try await live.post(
                "/v1/cache/feedback", ["request_id": .string(hit.requestID), "correct": false], key: key)
            #expect(wrong.body["withdrawn"] == true)
            let labels = try await live.get("/admin/cache/labels").body["data"]?.array ?? []
            #expect(labels.count == 1 && labels.first?["correct"] == false)
            let id = try #require(labels.first?["id"]?.integer)

            let approved = try await live.post("/admin/cache/labels/\(id)/approve", [:])
            #expect(approved.body["status"] == "approved")
            #expect(try await live.get("/admin/cache/labels?status=approved").body["data"]?.array?.count == 1)
            #expect(try await live.get("/admin/cache/labels?status=pending").body["data"]?.array?.isEmpty == true)

            let deleted = try await live.send(
                "/admin/cache/labels/\(id)", method: .DELETE, body: nil, key: nil, headers: [])
            #expect(deleted.status == 200)
            #expect(try await live.get("/admin/cache/labels").body["data"]?.array?.isEmpty == true)
            #expect(try await Self.ask(live, Self.paraphrase, key: key).result == "semantic-hit")
            #expect(try await live.post("/admin/cache/labels/\(id)/approve", [:]).status == 404)
        }
    }
}
