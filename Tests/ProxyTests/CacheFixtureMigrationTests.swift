import AsyncHTTPClient
import Foundation
import Testing

@testable import Proxy

/// A database and an export written by the gateway before the canonical JSON form (Fixtures/README.md):
/// opened by today's code they migrate, and every request they answered is still an exact hit, with the
/// same answer, without reaching the upstream.
@Suite(.serialized) struct CacheFixtureMigrationTests {
    /// The configuration the fixtures were written with (Fixtures/fixture-config.yaml), on the mock.
    static let yaml = LiveGateway.everyProtocolYAML(
        cache: "{ enabled: true, threshold: 0.9, scope: global, verifier: { enabled: false } }")

    struct FixtureRequest: Sendable {
        let name: String
        let path: String
        let body: JSONValue
    }

    static func fixture(_ name: String) throws -> URL {
        try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/\(name)")
    }

    static func requests() throws -> [FixtureRequest] {
        try String(contentsOf: fixture("requests.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
            let json = try JSONValue.parse(Array(line.utf8))
            return FixtureRequest(name: json["name"]!.string!, path: json["path"]!.string!, body: json["body"]!)
        }
    }

    static func exportLines() throws -> [String] {
        try String(contentsOf: fixture("cache-v0.export.jsonl"), encoding: .utf8).split(separator: "\n").map(
            String.init)
    }

    /// The answer text a client sees, whatever protocol it spoke.
    static func answerText(_ body: JSONValue, path: String) -> String? {
        if path.hasPrefix("/v1/messages") { return body["content"]?.array?.first?["text"]?.string }
        if path.hasPrefix("/v1beta") {
            return body["candidates"]?.array?[0]["content"]?["parts"]?.array?[0]["text"]?.string
        }
        let message = body["choices"]?.array?[0]["message"]
        return message?["content"]?.string ?? message?["tool_calls"]?.array?[0]["function"]?["name"]?.string
    }

    /// Asks every fixture request and checks that each is an exact hit that never reaches the upstream.
    static func expectEveryRequestIsAnExactHit(_ live: LiveGateway) async throws {
        for request in try requests() {
            var body = request.body
            if case .object(var object) = body, object["stream"] != nil {
                // The streamed entries are asked again without streaming, to read the answer in one piece.
                object["stream"] = nil
                object["stream_options"] = nil
                body = .object(object)
            }
            let answer = try await live.post(request.path, body)
            #expect(answer.status == 200, "\(request.name): \(answer.text)")
            #expect(answer.headers.first(name: "x-routershift-cache") == "hit", "\(request.name)")
            #expect(answerText(answer.body, path: request.path)?.isEmpty == false, "\(request.name): \(answer.text)")
        }
        #expect(try await upstreamRequests(live) == 0)
    }

    /// Every request the mock upstream received, on any path.
    static func upstreamRequests(_ live: LiveGateway) async throws -> Int64 {
        var request = HTTPClientRequest(url: live.mockURL + "/mock/stats")
        request.method = .GET
        let response = try await live.client.execute(request, timeout: .seconds(10))
        let json = try JSONValue.parse(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
        return json["requests"]?.object?.values.compactMap(\.integer).reduce(0, +) ?? -1
    }

    @Test func theOldDatabaseMigratesWithEveryHitIntact() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            at: try Self.fixture("cache-v0.sqlite"), to: directory.appendingPathComponent("gateway.sqlite"))
        try await LiveGateway.run(yaml: Self.yaml, directory: directory) { live in
            let cache = try #require(live.gateway.cache)
            #expect(try cache.report().entries == Self.exportLines().count)
            try await Self.expectEveryRequestIsAnExactHit(live)
            var lines: [String] = []
            _ = try cache.export(includeVectors: false) { lines.append($0) }
            for line in lines {
                #expect(line.contains(#""format":"routershift.cache/v1""#))
                #expect(!line.contains("_0"))
            }
        }
    }

    @Test func theOldExportImportsWithEveryHitIntact() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let cache = try #require(live.gateway.cache)
            let lines = try Self.exportLines()
            let result = try await cache.importEntries(lines)
            #expect(result.imported == lines.count && result.skipped == 0)
            try await Self.expectEveryRequestIsAnExactHit(live)
        }
    }

    @Test func aNewExportImportsIntoAFreshGateway() async throws {
        let lines = try await LiveGateway.run(yaml: Self.yaml) { live in
            let cache = try #require(live.gateway.cache)
            _ = try await cache.importEntries(try Self.exportLines())
            var exported: [String] = []
            _ = try cache.export(includeVectors: false) { exported.append($0) }
            return exported
        }
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let result = try await live.gateway.cache!.importEntries(lines)
            #expect(result.imported == lines.count)
            try await Self.expectEveryRequestIsAnExactHit(live)
        }
    }

    @Test func anUnknownFormatIsRefusedNamingTheLine() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let error = await #expect(throws: GatewayError.self) {
                try await live.gateway.cache!.importEntries([
                    #"{"format":"routershift.cache/v9","request":{},"response":{},"expires_at":1}"#
                ])
            }
            #expect(error?.message.contains("Line 1") == true)
            #expect(error?.message.contains("routershift.cache/v9") == true)
        }
    }
}
