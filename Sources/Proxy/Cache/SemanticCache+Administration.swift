import Embedding
import Foundation
import GRDB
import VectorIndex

/// The cache's figures as `routershift cache stats` and `GET /admin/cache/stats` show them.
public struct CacheStatisticsReport: Sendable, Codable, Equatable {
    public var entries: Int
    public var indexedEntries: Int
    public var exactHits: Int
    public var semanticHits: Int
    public var misses: Int
    public var hitRate: Double
    public var tokensSaved: Int
    public var costSaved: Double
    public var lookupMillisecondsP50: Double?
    public var lookupMillisecondsP99: Double?
    /// What verifying one candidate costs (reading its token states, features, score).
    public var verifierMillisecondsP50: Double?
    public var verifierMillisecondsP99: Double?
    /// Candidates the verifier scored, at most ``SemanticCache/maxVerified`` a lookup.
    public var verifications: Int
    /// The encoder that made the index's vectors (model and precision), as the cache recorded it.
    public var encoder: String?
    /// What an entry stores on average: its row (request, response, token ids and token states) and its node in
    /// the semantic index (vector and links).
    public var entryBytes: Double?
    /// The part of ``entryBytes`` that is the verifier's token states.
    public var tokenStateBytes: Double?
    /// The part of ``entryBytes`` that is the index node, over the entries that have one.
    public var indexNodeBytes: Double?

    enum CodingKeys: String, CodingKey {
        case entries
        case indexedEntries = "indexed_entries"
        case exactHits = "exact_hits"
        case semanticHits = "semantic_hits"
        case misses
        case hitRate = "hit_rate"
        case tokensSaved = "tokens_saved"
        case costSaved = "cost_saved"
        case lookupMillisecondsP50 = "lookup_ms_p50"
        case lookupMillisecondsP99 = "lookup_ms_p99"
        case verifierMillisecondsP50 = "verifier_ms_p50"
        case verifierMillisecondsP99 = "verifier_ms_p99"
        case verifications
        case encoder
        case entryBytes = "entry_bytes_avg"
        case tokenStateBytes = "token_state_bytes_avg"
        case indexNodeBytes = "index_node_bytes_avg"
    }
}

/// Which entries a purge removes.
public enum CachePurge: Sendable {
    case all
    case id(Int64)
    case model(String)
    case scope(String)
    /// Entries created more than this many seconds ago.
    case olderThan(Double)
    /// Entries whose prompt is at least `threshold` similar to `prompt`.
    case near(prompt: String, threshold: Double)
}

extension SemanticCache {
    /// Entries, counters and lookup latency. Counters include what is not yet flushed.
    public func report() throws -> CacheStatisticsReport {
        try flush()
        return try Self.report(store.database)
    }

    /// The figures as stored, for a CLI that reads the database of a gateway that may not be running.
    public static func report(_ database: some DatabaseReader) throws -> CacheStatisticsReport {
        try database.read { db in
            let counters = Dictionary(
                try Row.fetchAll(db, sql: "SELECT name, value FROM cache_counter").map {
                    ($0[0] as String, $0[1] as Double)
                },
                uniquingKeysWith: { first, _ in first })
            let entries = try CacheEntry.fetchCount(db)
            let indexed = try Int.fetchOne(db, sql: "SELECT count(*) FROM cache_entry WHERE prompt IS NOT NULL") ?? 0
            let encoder = try String.fetchOne(
                db, sql: "SELECT value FROM cache_setting WHERE name = ?", arguments: [encoderSetting])
            let sizes = try Row.fetchOne(
                db,
                sql: """
                    SELECT avg(length(request) + length(response) + coalesce(length(token_ids), 0)
                               + coalesce(length(token_states), 0)),
                           avg(coalesce(length(token_states), 0))
                    FROM cache_entry
                    """)
            let nodes = try PersistentHNSWIndex.storedNodeBytes(db, name: indexName)
            let nodeBytes = nodes.flatMap { $0.nodes == 0 ? nil : $0.averageBytes }
            let rowBytes: Double? = sizes?[0]
            let entryBytes = rowBytes.map { rows in
                rows + (nodes.map { $0.averageBytes * Double($0.nodes) } ?? 0) / Double(max(entries, 1))
            }
            let exact = Int(counters["exact_hits"] ?? 0)
            let semantic = Int(counters["semantic_hits"] ?? 0)
            let misses = Int(counters["misses"] ?? 0)
            let lookups = exact + semantic + misses
            return CacheStatisticsReport(
                entries: entries, indexedEntries: indexed, exactHits: exact, semanticHits: semantic, misses: misses,
                hitRate: lookups == 0 ? 0 : Double(exact + semantic) / Double(lookups),
                tokensSaved: Int(counters["tokens_saved"] ?? 0),
                costSaved: counters["cost_saved"] ?? 0, lookupMillisecondsP50: counters["lookup_p50_ms"],
                lookupMillisecondsP99: counters["lookup_p99_ms"], verifierMillisecondsP50: counters["verifier_p50_ms"],
                verifierMillisecondsP99: counters["verifier_p99_ms"],
                verifications: Int(counters["verifications"] ?? 0), encoder: encoder, entryBytes: entryBytes,
                tokenStateBytes: sizes?[1], indexNodeBytes: nodeBytes)
        }
    }

    /// Removes the selected entries and their index nodes; returns how many.
    public func purge(_ selection: CachePurge) async throws -> Int {
        let ids: [Int64]
        switch selection {
        case .all:
            ids = try store.readNow { db in try Int64.fetchAll(db, sql: "SELECT id FROM cache_entry") }
        case .id(let id):
            ids = [id]
        case .model(let model):
            ids = try store.readNow { db in
                try Int64.fetchAll(db, sql: "SELECT id FROM cache_entry WHERE model = ?", arguments: [model])
            }
        case .scope(let scope):
            ids = try store.readNow { db in
                try Int64.fetchAll(db, sql: "SELECT id FROM cache_entry WHERE scope = ?", arguments: [scope])
            }
        case .olderThan(let seconds):
            let cutoff = clock.wallTime() - seconds
            ids = try store.readNow { db in
                try Int64.fetchAll(db, sql: "SELECT id FROM cache_entry WHERE created_at < ?", arguments: [cutoff])
            }
        case .near(let prompt, let threshold):
            guard let embedder, let index else {
                throw GatewayError(.invalidRequest, "Purging by similarity needs the semantic layer, which is off.")
            }
            let vector = try await embedder.embed([prompt])[0]
            ids = try index.exactSearch(vector, k: max(index.count, 1)).prefix { Double($0.similarity) >= threshold }
                .map(\.label)
        }
        var deleted = 0
        for start in stride(from: 0, to: ids.count, by: 1000) {
            deleted += try delete(Array(ids[start..<min(start + 1000, ids.count)]))
        }
        return deleted
    }

    /// Writes every entry as one JSON line to `write`, with its vector if asked (and then its token states
    /// for the verifier, base64, so an import needs no embedding); returns the count.
    public func export(includeVectors: Bool, write: (String) throws -> Void) throws -> Int {
        try flush()
        let index = index
        return try store.readNow { db in
            var count = 0
            let entries = try CacheEntry.order(Column("id")).fetchCursor(db)
            while let entry = try entries.next() {
                var line = try Self.exportLine(entry)
                if includeVectors, let id = entry.id, let vector = index?.vector(for: id) {
                    line["vector"] = .array(vector.map { .number(Double($0)) })
                    if let ids = entry.tokenIDs, let states = entry.tokenStates {
                        line["token_ids"] = .string(ids.base64EncodedString())
                        line["token_states"] = .string(states.base64EncodedString())
                    }
                }
                try write(String(decoding: JSONValue.object(line).serialized(sortedKeys: true), as: UTF8.self))
                count += 1
            }
            return count
        }
    }

    static func exportLine(_ entry: CacheEntry) throws -> [String: JSONValue] {
        var line: [String: JSONValue] = [
            "format": .string(CanonicalJSON.format), "exact_key": .string(entry.exactKey),
            "scope": .string(entry.scope), "tenant": .string(entry.tenant),
            "model": .string(entry.model), "request": try JSONValue.parse(Array(entry.request.utf8)),
            "response": try JSONValue.parse(Array(entry.response.utf8)),
            "prompt_tokens": .integer(Int64(entry.promptTokens)),
            "completion_tokens": .integer(Int64(entry.completionTokens)), "cost": .number(entry.cost),
            "created_at": .number(entry.createdAt), "expires_at": .number(entry.expiresAt),
            "hits": .integer(Int64(entry.hits)),
        ]
        line["prompt"] = entry.prompt.map(JSONValue.string) ?? .null
        return line
    }

    /// Imports JSON lines written by ``export(includeVectors:write:)`` (`routershift.cache/v1`), or by
    /// gateways from before that form (lines without `format`). Each entry is keyed again from its request
    /// with this cache's settings; entries whose exact key is already present are skipped; prompts without
    /// a vector, or without the token states the verifier needs, are embedded again. Entries are written
    /// ``importBatch`` to a transaction, each batch while the next one is read. Returns (imported, skipped).
    ///
    /// - Throws: ``GatewayError`` naming the line that is not JSON, lacks a field, has another format, or
    ///   whose request or response cannot be read; the batches before that line's are imported.
    public func importEntries(_ lines: [String], progress: (Int) -> Void = { _ in }) async throws -> (
        imported: Int, skipped: Int
    ) {
        var read = 0
        var imported = 0
        var batch: [(entry: CacheEntry, vector: [Float]?)] = []
        var writing: (task: Task<Int, any Error>, through: Int)?
        func finishWriting() async throws {
            guard let (task, through) = writing else { return }
            writing = nil
            imported += try await task.value
            progress(through)
        }
        do {
            // A blank line is skipped; the check reads bytes, as `trimmingCharacters` on a line of several
            // kilobytes (a vector and token states) cost a third of an import.
            for (number, line) in lines.enumerated()
            where line.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                batch.append(try await importedEntry(line, number: number + 1))
                read += 1
                guard batch.count == Self.importBatch else { continue }
                try await finishWriting()
                let full = batch
                writing = (Task { try await self.insertImported(full) }, number + 1)
                batch.removeAll(keepingCapacity: true)
            }
        } catch {
            try? await finishWriting()
            throw error
        }
        try await finishWriting()
        if !batch.isEmpty { imported += try await insertImported(batch) }
        progress(lines.count)
        return (imported, read - imported)
    }

    /// Entries an import writes in one transaction: a commit per entry would cost more than the entry.
    static let importBatch = 256

    /// The entry line `number` describes, embedded again where it lacks a vector or its token states.
    private func importedEntry(_ line: String, number: Int) async throws -> (entry: CacheEntry, vector: [Float]?) {
        let json: JSONValue
        do {
            json = try JSONValue.parse(Array(line.utf8))
        } catch {
            throw GatewayError.invalid("Line \(number) of the import is not JSON.")
        }
        guard let requestJSON = json["request"], let responseJSON = json["response"],
            let expires = json["expires_at"]?.number
        else {
            throw GatewayError.invalid("Line \(number) of the import lacks request, response or expires_at.")
        }
        let (request, response) = try Self.importedExchange(
            request: requestJSON, response: responseJSON, format: json["format"]?.string, line: number)
        let tenant = json["tenant"]?.string ?? "global"
        let key = CacheKey(request: request, tenant: tenant, settings: settings, semanticEnabled: false)
        var vector = json["vector"]?.array?.compactMap { $0.number.map(Float.init) }
        let prompt = json["prompt"]?.string
        if let expected = embedder?.dimension, let given = vector, given.count != expected { vector = nil }
        var tokens = Self.importedTokenStates(json, vector: vector)
        if let prompt, let embedder, vector == nil || (verifier != nil && tokens == nil) {
            let encoded = try await encode(prompt, embedder: embedder)
            vector = encoded.vector
            if verifier != nil, !encoded.tokenIDs.isEmpty, let embedder = embedder as? any TokenEmbedder {
                tokens = TokenStateCoding.encode(encoded, vocabulary: embedder.tokenizer.vocabulary)
            }
        }
        let entry = CacheEntry(
            id: nil, exactKey: key.exact, scope: key.scope, tenant: tenant, model: request.model,
            prompt: vector == nil ? nil : prompt, request: request.canonicalJSON.sortedJSONString,
            response: response.canonicalJSON.sortedJSONString,
            promptTokens: Int(json["prompt_tokens"]?.integer ?? 0),
            completionTokens: Int(json["completion_tokens"]?.integer ?? 0),
            cost: json["cost"]?.number ?? 0, createdAt: json["created_at"]?.number ?? clock.wallTime(),
            expiresAt: expires, lastUsedAt: clock.wallTime(), hits: Int(json["hits"]?.integer ?? 0),
            tokenIDs: tokens?.ids, tokenStates: tokens?.states)
        return (entry, vector)
    }

    /// A line's token states (base64, beside its vector), if they decode: malformed ones are made again.
    private static func importedTokenStates(_ json: JSONValue, vector: [Float]?) -> (ids: Data, states: Data)? {
        guard let vector, let ids = json["token_ids"]?.string.flatMap({ Data(base64Encoded: $0) }),
            let states = json["token_states"]?.string.flatMap({ Data(base64Encoded: $0) }),
            TokenStateCoding.isWellFormed(ids: ids, states: states, dimension: vector.count)
        else { return nil }
        return (ids, states)
    }

    /// Writes `batch` in one transaction, skipping entries whose exact key is present; returns how many
    /// were written.
    private func insertImported(_ batch: [(entry: CacheEntry, vector: [Float]?)]) async throws -> Int {
        let index = index
        let (written, indexed) = try await store.database.write { db -> (Int, [(id: Int64, scope: String)]) in
            var written = 0
            var indexed: [(id: Int64, scope: String)] = []
            for (draft, vector) in batch {
                guard try CacheEntry.filter(Column("exact_key") == draft.exactKey).fetchCount(db) == 0 else {
                    continue
                }
                var entry = draft
                try entry.insert(db)
                written += 1
                if let vector, let index {
                    try index.insert(vector, label: entry.id!, in: db)
                    indexed.append((entry.id!, entry.scope))
                }
            }
            return (written, indexed)
        }
        for (id, scope) in indexed { scopes.add(entry: id, scope: scope) }
        return written
    }

    /// The request and response of an imported line, read in the line's format.
    static func importedExchange(request: JSONValue, response: JSONValue, format: String?, line: Int)
        throws(GatewayError) -> (ChatRequest, ChatResponse)
    {
        switch format {
        case nil:
            guard let request = LegacyCacheForm.request(request), let response = LegacyCacheForm.response(response)
            else {
                throw .invalid("Line \(line) of the import has a request or response this gateway cannot read.")
            }
            return (request, response)
        case CanonicalJSON.format:
            do {
                return (try ChatRequest(canonicalJSON: request), try ChatResponse(canonicalJSON: response))
            } catch {
                throw .invalid("Line \(line) of the import: \(error.message)", param: error.param)
            }
        case let other?:
            throw .invalid(
                "Line \(line) of the import is in the format \(other); this gateway reads \(CanonicalJSON.format).")
        }
    }
}
