import Embedding
import Foundation
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// Runs from anywhere: relative paths in a configuration resolve against its file's folder, the model's
/// default home is the per-user data folder, the price table and verifier are built in, and the cache's
/// database commands work without the embedding model.
@Suite struct DataLocationTests {
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func relativePathsResolveAgainstTheConfigurationsFolder() throws {
        let folder = try Self.temporaryFolder()
        let file = folder.appendingPathComponent("conf/routershift.yaml")
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try """
        server: { tls: { certificate: tls/cert.pem, key: /etc/ssl/key.pem } }
        database: { path: state/gateway.sqlite }
        providers: [ { name: p, kind: openai, base_url: "https://x/v1", tls: { ca_file: ../ca.pem } } ]
        cache: { embedder: { kind: local, model_dir: models/minilm }, verifier: { file: "~/verifier.json" } }
        pricing: { file: prices.json }
        """.write(to: file, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: file.path, environment: [:])
        let conf = folder.appendingPathComponent("conf").standardizedFileURL.path
        #expect(configuration.databasePath == conf + "/state/gateway.sqlite")
        #expect(configuration.server.tls == .init(certificate: conf + "/tls/cert.pem", key: "/etc/ssl/key.pem"))
        #expect(configuration.providers[0].tls.caFile == folder.standardizedFileURL.path + "/ca.pem")
        guard case .local(let directory, _, _) = configuration.cache.embedder else {
            Issue.record("not a local embedder")
            return
        }
        #expect(directory == conf + "/models/minilm")
        #expect(configuration.cache.verifier.file == NSHomeDirectory() + "/verifier.json")
        #expect(configuration.pricing.file == conf + "/prices.json")
    }

    @Test func theShippedConfigurationKeepsItsDatabaseInTheCheckoutAndUsesTheBuiltInData() throws {
        let configuration = try ConfigurationLoader.load(
            path: "data/routershift.yaml", environment: ["ROUTERSHIFT_MASTER_KEY": "sk-master-0000"])
        let checkout = FileManager.default.currentDirectoryPath
        #expect(configuration.databasePath == checkout + "/.routershift/routershift.sqlite")
        #expect(configuration.cache.verifier.file == nil && configuration.pricing.file == nil)
        guard case .local(let directory, _, _) = configuration.cache.embedder else {
            Issue.record("not a local embedder")
            return
        }
        #expect(directory == DataHome.modelDirectory())
    }

    @Test func theModelsHomeFollowsRouterShiftHomeThenXDGThenTheHomeFolder() {
        #expect(DataHome.directory(environment: ["ROUTERSHIFT_HOME": "/srv/rs", "XDG_DATA_HOME": "/x"]) == "/srv/rs")
        #expect(
            DataHome.directory(environment: ["XDG_DATA_HOME": "/x/data", "HOME": "/home/u"]) == "/x/data/routershift")
        // The XDG specification says to ignore a relative XDG_DATA_HOME.
        #expect(
            DataHome.directory(environment: ["XDG_DATA_HOME": "data", "HOME": "/home/u"])
                == "/home/u/.local/share/routershift")
        #expect(DataHome.directory(environment: ["HOME": "/home/u"]) == "/home/u/.local/share/routershift")
        #expect(
            DataHome.modelDirectory(environment: ["ROUTERSHIFT_HOME": "/srv/rs"]) == "/srv/rs/models/all-MiniLM-L6-v2")
        let relative = DataHome.directory(environment: ["ROUTERSHIFT_HOME": "home"])
        #expect(relative == FileManager.default.currentDirectoryPath + "/home")
    }

    @Test func thePriceTableAndVerifierAreBuiltIntoTheBinary() throws {
        let prices = try PriceTable(file: nil, overrides: ["mine": ModelPrice(input: 1, output: 2)])
        let shipped = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: "data/prices.json"))))
        #expect(prices.price(for: "gpt-4o-mini")?.input == shipped["models"]?["gpt-4o-mini"]?["input"]?.number)
        #expect(prices.price(for: "mine") == ModelPrice(input: 1, output: 2))
        #expect(try Verifier.load(file: nil) == Verifier.load(path: "data/verifier.json"))
        let missing = try #require(throws: GatewayError.self) {
            try PriceTable(file: "/nonexistent/prices.json", overrides: [:])
        }
        #expect(missing.message.contains("/nonexistent/prices.json"))
    }

    /// Vectors given, never computed: enough to fill a cache whose index a command then opens without it.
    struct GivenVectors: Embedder {
        let dimension = 4
        let identity: String? = "given vectors"
        func embed(_ texts: [String]) async throws -> [[Float]] { texts.map { _ in [1, 0, 0, 0] } }
    }

    @Test func theCacheOpensWithoutItsEmbedderForExportAndPurges() async throws {
        let folder = try Self.temporaryFolder()
        let store = try GatewayStore(path: folder.appendingPathComponent("cache.sqlite").path)
        var settings = GatewayConfiguration.Cache()
        settings.verifier.enabled = false
        let filled = try SemanticCache(settings: settings, store: store, embedder: GivenVectors())
        let lines = (0..<3).map { number in
            """
            {"format":"routershift.cache/v1","exact_key":"k\(number)","scope":"s","model":"m","prompt":"p\(number)",\
            "request":{"model":"m","messages":[{"role":"user","content":"p\(number)"}]},\
            "response":{"id":"r","model":"m","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":"a"},\
            "finish_reason":"stop"}]},\
            "expires_at":\(Date().timeIntervalSince1970 + 3600),"vector":[\(number),1,0,0]}
            """
        }
        #expect(try await filled.importEntries(lines).imported == 3)

        let cache = try SemanticCache.openWithoutEmbedder(settings: settings, store: store)
        #expect(cache.index?.count == 3)
        var exported: [JSONValue] = []
        _ = try cache.export(includeVectors: true) { exported.append(try JSONValue.parse(Array($0.utf8))) }
        #expect(exported.count == 3 && exported.allSatisfy { $0["vector"]?.array?.count == 4 })
        let first = try store.readNow { db in try Int64.fetchOne(db, sql: "SELECT min(id) FROM cache_entry") }
        #expect(try await cache.purge(.id(try #require(first))) == 1)
        #expect(cache.index?.count == 2)
        await #expect(throws: GatewayError.self) { _ = try await cache.purge(.near(prompt: "p1", threshold: 0.5)) }
        // A database without a cache index opens too, with no semantic layer.
        let empty = try GatewayStore(path: folder.appendingPathComponent("empty.sqlite").path)
        #expect(try SemanticCache.openWithoutEmbedder(settings: settings, store: empty).index == nil)
    }
}
