import Foundation
import Testing

@testable import Proxy

@Suite(.serialized) struct CacheAdministrationTests {
    @Test func entriesAndTheirIndexSurviveARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await LiveGateway.run(yaml: SemanticCacheTests.yaml(), directory: directory) { live in
            _ = try await live.post("/v1/chat/completions", SemanticCacheTests.chat("How do I reset my password?"))
        }
        try await LiveGateway.run(yaml: SemanticCacheTests.yaml(), directory: directory) { live in
            let exact = try await live.post(
                "/v1/chat/completions", SemanticCacheTests.chat("How do I reset my password?"))
            #expect(exact.headers.first(name: "x-routershift-cache") == "hit")
            let paraphrase = try await live.post(
                "/v1/chat/completions", SemanticCacheTests.chat("how can I reset my password"))
            #expect(paraphrase.headers.first(name: "x-routershift-cache") == "semantic-hit")
            #expect(try await live.upstreamCount("mock-small") == 0)
        }
    }

    @Test func purgeNearRemovesTheNearEntriesAndNothingElse() async throws {
        try await LiveGateway.run(yaml: SemanticCacheTests.yaml()) { live in
            for prompt in [
                "How do I reset my password?", "How can I reset my password?", "What is the capital of France?",
            ] {
                // A strict threshold keeps the paraphrase from hitting, so it gets an entry of its own.
                _ = try await live.post(
                    "/v1/chat/completions", SemanticCacheTests.chat(prompt),
                    headers: [("x-routershift-cache-threshold", "0.999")])
            }
            let purged = try await live.post(
                "/admin/cache/purge", ["near": "How do I reset my password", "threshold": 0.9])
            #expect(purged.body["deleted"] == 2)
            let france = try await live.post(
                "/v1/chat/completions", SemanticCacheTests.chat("What is the capital of France?"))
            #expect(france.headers.first(name: "x-routershift-cache") == "hit")
            let password = try await live.post(
                "/v1/chat/completions", SemanticCacheTests.chat("How do I reset my password?"))
            #expect(password.headers.first(name: "x-routershift-cache") == "miss")
            let stats = try await live.get("/admin/cache/stats")
            #expect(stats.body["entries"] == 2)
            #expect((stats.body["exact_hits"]?.integer ?? 0) >= 1)
        }
    }

    @Test func purgeByModelIdAgeAndAll() async throws {
        try await LiveGateway.run(yaml: SemanticCacheTests.yaml()) { live in
            let first = try await live.post("/v1/chat/completions", SemanticCacheTests.chat("One"))
            _ = try await live.post("/v1/chat/completions", SemanticCacheTests.chat("Two", model: "slow"))
            _ = try await live.post("/v1/chat/completions", SemanticCacheTests.chat("Three"))
            let id = Int64(first.headers.first(name: "x-routershift-cache-key") ?? "0")!
            #expect(try await live.post("/admin/cache/purge", ["id": .integer(id)]).body["deleted"] == 1)
            #expect(try await live.post("/admin/cache/purge", ["model": "slow"]).body["deleted"] == 1)
            #expect(try await live.post("/admin/cache/purge", ["older_than": "1h"]).body["deleted"] == 0)
            #expect(try await live.post("/admin/cache/purge", ["all": true]).body["deleted"] == 1)
            #expect(try await live.post("/admin/cache/purge", [:]).status == 400)
        }
    }

    @Test func exportThenImportIntoAnEmptyDatabaseGivesTheSameHits() async throws {
        for vectors in [true, false] {
            let exported = try await LiveGateway.run(yaml: SemanticCacheTests.yaml()) { live in
                for prompt in ["How do I reset my password?", "What is the capital of France?"] {
                    _ = try await live.post("/v1/chat/completions", SemanticCacheTests.chat(prompt))
                }
                return try await live.send(
                    "/admin/cache/export?vectors=\(vectors)", method: .GET, body: nil, key: nil, headers: []
                ).text
            }
            #expect(exported.split(separator: "\n").count == 2)
            #expect(exported.contains("\"vector\"") == vectors)
            try await LiveGateway.run(yaml: SemanticCacheTests.yaml()) { live in
                let imported = try await live.send(
                    "/admin/cache/import", method: .POST, body: Array(exported.utf8), key: nil, headers: [])
                #expect(imported.body["imported"] == 2)
                let again = try await live.send(
                    "/admin/cache/import", method: .POST, body: Array(exported.utf8), key: nil, headers: [])
                #expect(again.body["skipped"] == 2)
                let exact = try await live.post(
                    "/v1/chat/completions", SemanticCacheTests.chat("What is the capital of France?"))
                #expect(exact.headers.first(name: "x-routershift-cache") == "hit")
                let paraphrase = try await live.post(
                    "/v1/chat/completions", SemanticCacheTests.chat("how can I reset my password"))
                #expect(paraphrase.headers.first(name: "x-routershift-cache") == "semantic-hit")
                #expect(try await live.upstreamCount("mock-small") == 0)
            }
        }
    }
}
