import Embedding
import Foundation
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// One encoder per index: the cache records what made its vectors and refuses another's for a non-empty
/// index, naming the fix; `cache stats` shows the record and what an entry stores.
@Suite struct CacheEncoderRecordTests {
    /// Vectors given, never computed, under the identity named.
    struct NamedVectors: Embedder {
        let identity: String?
        let dimension = 4
        func embed(_ texts: [String]) async throws -> [[Float]] { texts.map { _ in [1, 0, 0, 0] } }
    }

    static func entries(_ count: Int) -> [String] {
        (0..<count).map { number in
            """
            {"format":"routershift.cache/v1","exact_key":"k\(number)","scope":"s","model":"m","prompt":"p\(number)",\
            "request":{"model":"m","messages":[{"role":"user","content":"p\(number)"}]},\
            "response":{"id":"r","model":"m","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":"a"},\
            "finish_reason":"stop"}]},\
            "expires_at":\(Date().timeIntervalSince1970 + 3600),"vector":[\(number),1,0,0]}
            """
        }
    }

    @Test func aNonEmptyIndexRefusesAnotherEncoderAndAnEmptyOneTakesIt() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-\(UUID().uuidString).sqlite")
        defer { try? FileManager.default.removeItem(at: path) }
        let store = try GatewayStore(path: path.path)
        var settings = GatewayConfiguration.Cache()
        settings.verifier.enabled = false
        let fp32 = NamedVectors(identity: "local all-MiniLM-L6-v2 fp32")
        let int8 = NamedVectors(identity: "local all-MiniLM-L6-v2 int8")

        let cache = try SemanticCache(settings: settings, store: store, embedder: fp32)
        #expect(try SemanticCache.indexedPrecision(in: store) == nil, "an empty index binds no precision")
        #expect(try await cache.importEntries(Self.entries(3)).imported == 3)
        #expect(try SemanticCache.indexedPrecision(in: store) == .fp32)
        let report = try cache.report()
        #expect(report.encoder == "local all-MiniLM-L6-v2 fp32")
        #expect((report.entryBytes ?? 0) > 0 && report.tokenStateBytes == 0)
        let nodeBytes = try #require(report.indexNodeBytes, "every imported entry has an index node")
        #expect(nodeBytes >= Double(fp32.dimension * 4), "a node holds its fp32 vector")
        #expect((report.entryBytes ?? 0) > nodeBytes)

        let refusal = try #require(throws: GatewayError.self) {
            try SemanticCache(settings: settings, store: store, embedder: int8)
        }
        #expect(refusal.message.contains("made by `local all-MiniLM-L6-v2 fp32`"))
        #expect(refusal.message.contains("`local all-MiniLM-L6-v2 int8`"))
        #expect(refusal.message.contains("cache.embedder.precision"))
        #expect(refusal.message.contains("routershift cache purge --all"))
        // The same encoder opens it, and a command that embeds nothing opens it whatever the record says.
        _ = try SemanticCache(settings: settings, store: store, embedder: fp32)
        #expect(try SemanticCache.openWithoutEmbedder(settings: settings, store: store).index?.count == 3)

        // Emptied, the index is rebuilt by whichever encoder opens it next.
        #expect(try await cache.purge(.all) == 3)
        #expect(try SemanticCache.indexedPrecision(in: store) == nil)
        let rebuilt = try SemanticCache(settings: settings, store: store, embedder: int8)
        #expect(try rebuilt.report().encoder == "local all-MiniLM-L6-v2 int8")
    }

    /// `precision: auto` takes the index's precision, so a cache built before `auto` chose int8 here still
    /// opens; an explicit precision is kept (and refused by a non-empty index of another).
    @Test func autoTakesThePrecisionOfTheIndex() throws {
        let directory = ModelFiles.defaultDirectory
        let client = UpstreamClient()
        defer { client.shutdownNow() }
        let auto = GatewayConfiguration.EmbedderKind.local(modelDirectory: directory, threads: 1, precision: .auto)
        let adopted = try #require(try CacheEmbedder.make(auto, client: client, indexed: .fp32) as? LocalEmbedder)
        #expect(adopted.precision == .fp32)
        let fresh = try #require(try CacheEmbedder.make(auto, client: client) as? LocalEmbedder)
        #expect(fresh.precision == EmbeddingPrecision.automatic)
        let explicit = GatewayConfiguration.EmbedderKind.local(modelDirectory: directory, threads: 1, precision: .fp32)
        let kept = try #require(try CacheEmbedder.make(explicit, client: client, indexed: .int8) as? LocalEmbedder)
        #expect(kept.precision == .fp32)
    }
}
