import Foundation
import GRDB
import Testing

@testable import Proxy

/// An export with vectors carries each entry's token states, so an import into another gateway keeps the
/// verifier's view of every entry without embedding a prompt again; states that do not decode are made again.
@Suite(.serialized) struct CacheTransferTests {
    static let cached = "How do I reset my password?"

    /// The one exported line of a gateway that answered ``cached``, with vectors.
    static func exportedLine() async throws -> String {
        try await LiveGateway.run(yaml: VerifierTests.yaml) { live in
            _ = try await VerifierTests.ask(live, cached)
            var lines: [String] = []
            _ = try live.gateway.cache!.export(includeVectors: true) { lines.append($0) }
            return try #require(lines.first)
        }
    }

    /// `line` with its vector's first two components swapped: still a unit vector, but not the model's.
    static func swappingTheFirstTwoComponents(of line: String) throws -> (line: String, vector: [Float]) {
        guard case .object(var object) = try JSONValue.parse(Array(line.utf8)),
            var components = object["vector"]?.array
        else { throw GatewayError.invalid("no vector in the exported line") }
        components.swapAt(0, 1)
        object["vector"] = .array(components)
        let vector = components.compactMap { $0.number.map(Float.init) }
        return (String(decoding: JSONValue.object(object).serialized(sortedKeys: true), as: UTF8.self), vector)
    }

    /// The one entry's indexed vector and token states in `live`'s cache.
    static func storedEntry(_ live: LiveGateway) throws -> (vector: [Float]?, states: Data?) {
        let cache = try #require(live.gateway.cache)
        let entry = try #require(try cache.store.database.read { db in try CacheEntry.fetchOne(db) })
        return (cache.index?.vector(for: entry.id!), entry.tokenStates)
    }

    @Test func theTokenStatesTravelWithTheVectorAndNothingIsEmbeddedAgain() async throws {
        let line = try await Self.exportedLine()
        #expect(line.contains(#""token_states":"#) && line.contains(#""token_ids":"#))
        let (swapped, vector) = try Self.swappingTheFirstTwoComponents(of: line)
        try await LiveGateway.run(yaml: VerifierTests.yaml) { live in
            let result = try await live.gateway.cache!.importEntries([swapped])
            #expect(result.imported == 1 && result.skipped == 0)
            let stored = try Self.storedEntry(live)
            // Embedding the prompt again would have indexed the model's vector instead of the line's.
            #expect(stored.vector == vector)
            #expect(stored.states?.isEmpty == false)
            let answer = try await VerifierTests.ask(live, "How can I reset my password?")
            #expect(answer.status == "semantic-hit")
            #expect(answer.score != nil, "the imported token states are what the verifier scored")
        }
    }

    @Test func tokenStatesThatDoNotDecodeAreMadeAgain() async throws {
        let line = try await Self.exportedLine()
        let (swapped, vector) = try Self.swappingTheFirstTwoComponents(of: line)
        guard case .object(var object) = try JSONValue.parse(Array(swapped.utf8)) else { return }
        object["token_states"] = .string(Data([1, 2, 3]).base64EncodedString())
        let broken = String(decoding: JSONValue.object(object).serialized(sortedKeys: true), as: UTF8.self)
        try await LiveGateway.run(yaml: VerifierTests.yaml) { live in
            #expect(try await live.gateway.cache!.importEntries([broken]).imported == 1)
            let stored = try Self.storedEntry(live)
            #expect(stored.vector != nil && stored.vector != vector, "embedded again, with the model's vector")
            #expect((stored.states?.count ?? 0) > 3)
        }
    }

    @Test func importsOfMoreThanOneBatchSkipWhatIsPresent() async throws {
        let line = try await Self.exportedLine()
        guard case .object(let template) = try JSONValue.parse(Array(line.utf8)),
            case .object(var request) = template["request"]
        else { return }
        // Distinct requests (the exact key is the request's), in more than one transaction.
        let count = SemanticCache.importBatch + 10
        let lines = (0..<count).map { number -> String in
            var object = template
            request["temperature"] = .number(Double(number) / Double(count))
            object["request"] = .object(request)
            return String(decoding: JSONValue.object(object).serialized(sortedKeys: true), as: UTF8.self)
        }
        try await LiveGateway.run(yaml: VerifierTests.yaml) { live in
            let cache = try #require(live.gateway.cache)
            let first = try await cache.importEntries(Array(lines.prefix(20)))
            #expect(first.imported == 20 && first.skipped == 0)
            let second = try await cache.importEntries(lines + [lines[0]])
            #expect(second.imported == count - 20 && second.skipped == 21)
            #expect(try cache.report().entries == count)
            #expect(cache.index?.count == count)
        }
    }
}
