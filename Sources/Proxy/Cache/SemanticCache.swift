import Embedding
import Foundation
import GRDB
import RouterShiftConfiguration
import Synchronization
import Tokenizer
import VectorIndex

/// The semantic cache in front of chat traffic: an exact layer (the request's canonical hash) and a semantic
/// layer (the prompt's embedding searched in an HNSW index, within the request's scope, above a threshold).
/// Entries and their index live in the gateway's SQLite database, written in the same transactions.
public final class SemanticCache: Sendable {
    /// What a configuration reload may change: the settings (thresholds, TTL, size, eligibility limits) and
    /// the verifier with the thresholds they set.
    private struct Tuning: Sendable {
        var settings: GatewayConfiguration.Cache
        /// As its parameters file has it, before the configuration's threshold overrides.
        var fitted: FittedVerifier?
        var verifier: Verifier?
    }

    /// A verifier read from its file, with where each of its features sits in the row ``VerifierFeatures``
    /// computes.
    struct FittedVerifier: Sendable, Equatable {
        let verifier: Verifier
        let positions: [Int]

        /// The verifier's score of `candidate` for `query` (before any threshold override). The lookup path and
        /// the replay benchmark score pairs with it.
        func score(_ query: VerifierInput, _ candidate: VerifierInput, vocabulary: Vocabulary) -> Double {
            let features = VerifierFeatures.compute(query, candidate, vocabulary: vocabulary)
            return verifier.score(positions.map { features[$0] })
        }
    }

    private let tuning: Mutex<Tuning>
    let store: GatewayStore
    /// Entry times, expiry and last uses are read from it.
    let clock: any GatewayClock
    /// The embedding model; nil when the semantic layer is off.
    let embedder: (any Embedder)?
    let index: PersistentHNSWIndex?
    let scopes = ScopeDirectory()
    let statistics = CacheStatistics()
    let coalescer = Coalescer()
    /// Semantic hits not yet written (what feedback refers to), flushed with the uses.
    let pendingHits = Mutex<[SemanticHitRecord]>([])
    /// Pairs feedback withdrew (``SemanticCache/feedback(requestID:correct:from:)``), checked by every lookup.
    let withdrawals = Mutex<Set<Withdrawal>>([])
    /// Hits and last uses not yet written, flushed in batches off the request path.
    let pendingUses = Mutex<[Int64: (hits: Int, lastUsed: Double)]>([:])
    /// The name of the semantic index's tables in the database.
    static let indexName = "cache"
    /// Candidates examined per semantic lookup.
    public static let candidates = 8
    /// Candidates the verifier scores per lookup at most (about 0.4 ms each), which bounds a miss's cost. On
    /// the QQP validation replay at the shipped point, 0.4% of hits came from a candidate ranked below third.
    public static let maxVerified = 3

    /// Opens the cache in `store`, loading its index; `embedder` nil disables the semantic layer.
    ///
    /// - Throws: if the verifier is enabled but its file cannot be read, or the index was built by an
    ///   embedder of another dimension.
    public init(
        settings: GatewayConfiguration.Cache, store: GatewayStore, embedder: (any Embedder)?,
        clock: any GatewayClock = SystemClock()
    ) throws {
        self.store = store
        self.clock = clock
        self.embedder = settings.semantic ? embedder : nil
        let fitted = try Self.loadVerifier(settings, embedder: self.embedder)
        tuning = Mutex(
            Tuning(settings: settings, fitted: fitted, verifier: Self.tuned(fitted?.verifier, settings.verifier)))
        if let embedder = self.embedder {
            do {
                index = try PersistentHNSWIndex(
                    database: store.database, name: Self.indexName, dimension: embedder.dimension)
            } catch VectorIndexError.dimensionMismatch(let expected, let actual) {
                throw GatewayError(
                    .internalError,
                    "The cache index holds \(expected)-d vectors but the embedder makes \(actual)-d ones: purge the cache "
                        + "(`routershift cache purge --all`) or use the embedder it was built with.")
            }
            try Self.checkEncoder(of: embedder, indexed: index!.count, store: store)
        } else {
            index = nil
        }
        try rekeyEntries()
        try loadWithdrawals()
        if let index {
            // Every entry's scope from the scope index alone (no table row is read), kept for the entries the
            // semantic index holds.
            let indexed = try store.database.read { db in
                var indexed: [(entry: Int64, scope: String)] = []
                indexed.reserveCapacity(index.count)
                let rows = try Row.fetchCursor(db, sql: "SELECT id, scope FROM cache_entry")
                while let row = try rows.next() {
                    let id: Int64 = row[0]
                    if index.contains(id) { indexed.append((id, row[1])) }
                }
                return indexed
            }
            scopes.replaceAll(with: indexed)
        }
    }

    var settings: GatewayConfiguration.Cache { tuning.withLock { $0.settings } }
    /// The second opinion on semantic hits; nil when off or when the embedder exposes no token states.
    var verifier: Verifier? { tuning.withLock { $0.verifier } }

    /// The verifier `settings` name (its file, or the one built in), checked against `embedder`'s features;
    /// nil when the verifier is off or the embedder has no token states.
    ///
    /// - Throws: ``GatewayError`` when the file cannot be read or was fitted on other features.
    func loadVerifier(_ settings: GatewayConfiguration.Cache) throws -> FittedVerifier? {
        try Self.loadVerifier(settings, embedder: embedder)
    }

    private static func loadVerifier(_ settings: GatewayConfiguration.Cache, embedder: (any Embedder)?) throws
        -> FittedVerifier?
    {
        guard settings.verifier.enabled, let embedder, embedder is any TokenEmbedder else { return nil }
        let verifier = try Verifier.load(file: settings.verifier.file)
        guard let positions = verifier.positions(in: VerifierFeatures.names(dimension: embedder.dimension)) else {
            throw GatewayError(
                .internalError,
                "the verifier \(settings.verifier.file ?? "built in") was not trained for this embedder's \(embedder.dimension) dimensions and features; train one with `routershift cache train-verifier` or set cache.verifier.enabled: false"
            )
        }
        return FittedVerifier(verifier: verifier, positions: positions)
    }

    /// Puts a reloaded configuration's thresholds, TTL, size and eligibility limits, and the verifier read
    /// again from its file (``loadVerifier(_:)``), in force for lookups and stores from now on; what the index
    /// was built with (embedder, scope) stays.
    ///
    /// - Returns: whether the verifier's parameters changed.
    @discardableResult
    func retune(_ settings: GatewayConfiguration.Cache, verifier fitted: FittedVerifier?) -> Bool {
        let verifier = Self.tuned(fitted?.verifier, settings.verifier)
        return tuning.withLock { tuning in
            let changed = tuning.fitted != fitted
            tuning.fitted = fitted
            tuning.verifier = verifier
            tuning.settings.verifier.file = settings.verifier.file
            tuning.settings.threshold = settings.threshold
            tuning.settings.ttl = settings.ttl
            tuning.settings.maxEntries = settings.maxEntries
            tuning.settings.maxTurns = settings.maxTurns
            tuning.settings.maxTemperature = settings.maxTemperature
            tuning.settings.efSearch = settings.efSearch
            tuning.settings.verifier.threshold = settings.verifier.threshold
            tuning.settings.verifier.candidateThreshold = settings.verifier.candidateThreshold
            tuning.settings.maxWrongHitRate = settings.maxWrongHitRate
            tuning.settings.audit = settings.audit
            return changed
        }
    }

    /// The fitted verifier with the configuration's threshold overrides.
    private static func tuned(_ fitted: Verifier?, _ settings: GatewayConfiguration.Verifier) -> Verifier? {
        guard var verifier = fitted else { return nil }
        if let threshold = settings.threshold { verifier.threshold = threshold }
        if let floor = settings.candidateThreshold { verifier.candidateThreshold = floor }
        return verifier
    }

    // MARK: - Lookup

    /// A cached answer and how it was found.
    struct Hit: Sendable {
        let entry: CacheEntry
        let response: ChatResponse
        let semantic: Bool
        let similarity: Double
        /// The verifier's score, when it judged the hit.
        var verifierScore: Double?
        /// The request's prompt as embedded, for a semantic hit.
        var query: String?
    }

    /// The outcome of a lookup; a miss keeps the prompt's encoding for storing the answer, and its near-miss:
    /// with audits on, the best candidate scored within ``AuditedOperatingPoint/nearMissBand`` below the
    /// operating point, whose answer an audit may judge against the fresh one.
    enum Lookup: Sendable {
        case hit(Hit)
        case miss(encoded: EncodedText?, nearMiss: Hit? = nil)
    }

    /// The lowest cosine a semantic candidate needs: with the verifier, its candidate similarity (the
    /// verifier then decides); without it, the model group's threshold or the global one.
    func similarityFloor(groupThreshold: Double?) -> Double {
        verifier?.candidateThreshold ?? groupThreshold ?? settings.threshold
    }

    /// The prompt encoded with token states when the embedder has them.
    func encode(_ prompt: String, embedder: any Embedder) async throws -> EncodedText {
        if let tokens = embedder as? any TokenEmbedder { return try await tokens.encode([prompt])[0] }
        return EncodedText(tokenIDs: [], tokenStates: [], vector: try await embedder.embed([prompt])[0])
    }

    /// Looks `key` up: the exact layer, then (if the request allows it and `semantic`) the semantic layer at
    /// `threshold`, leaving out the entries feedback withdrew for `caller` (a key id).
    /// - Parameter strictness: added to the verifier's threshold (an audited group's tightened operating point).
    func lookup(
        _ key: CacheKey, threshold: Double, semantic: Bool = true, caller: String = "", strictness: Double = 0
    ) async throws -> Lookup {
        try await RequestTrace.child("cache.lookup") { span in
            let lookup = try await find(
                key, threshold: threshold, semantic: semantic, caller: caller, strictness: strictness)
            if let span {
                if case .hit(let hit) = lookup {
                    span.attributes["routershift.cache.result"] = hit.semantic ? "semantic-hit" : "hit"
                    span.attributes["routershift.cache.similarity"] = hit.similarity
                } else {
                    span.attributes["routershift.cache.result"] = "miss"
                }
            }
            return lookup
        }
    }

    private func find(_ key: CacheKey, threshold: Double, semantic: Bool, caller: String, strictness: Double)
        async throws -> Lookup
    {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { statistics.recordLookup(milliseconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6) }
        let now = clock.wallTime()
        if let hit = try exactHit(key, now: now) { return .hit(hit) }
        guard semantic, let prompt = key.prompt, let embedder, let index else { return .miss(encoded: nil) }
        let query = try await RequestTrace.child("cache.embed") { span in
            let query = try await encode(prompt, embedder: embedder)
            span?.attributes["routershift.cache.prompt_tokens"] = query.tokenIDs.count
            return query
        }
        guard let (filter, count) = scopes.filter(for: key.scope) else { return .miss(encoded: query) }
        let band = settings.audit == nil ? 0 : AuditedOperatingPoint.nearMissBand
        // Without the verifier a near-miss is a candidate just below the cosine threshold.
        let lowest = verifier == nil ? threshold - band : threshold
        let candidates = try await RequestTrace.child("cache.search") { span in
            let found = try index.search(
                query.vector, k: Self.candidates, ef: settings.efSearch,
                filter: SearchFilter(expectedMatches: count, filter)
            ).filter { Double($0.similarity) >= lowest }
            span?.attributes["routershift.cache.candidates"] = found.count
            return found
        }
        guard !candidates.isEmpty else { return .miss(encoded: query) }
        let entries = try await RequestTrace.child("cache.read") { _ in try candidateEntries(candidates) }
        return try await RequestTrace.child("cache.verify") { span in
            let lookup = try verified(
                candidates, entries: entries, query: query, prompt: prompt, key: key, index: index, now: now,
                withdrawn: withdrawnEntries(prompt: prompt, caller: caller),
                operatingPoint: (threshold, strictness, band))
            guard case .hit(let hit) = lookup else { return lookup }
            if let score = hit.verifierScore { span?.attributes["routershift.cache.verifier_score"] = score }
            noteSemanticHit(hit, prompt: prompt, caller: caller)
            return .hit(hit)
        }
    }

    /// The first candidate that is live, in the key's scope, at or above the cosine `threshold` and (with the
    /// verifier, which scores ``maxVerified`` candidates at most) judged the same question, scored above the
    /// verifier's threshold plus `strictness`; on a miss,
    /// the first candidate within `band` below that point is the near-miss.
    /// The candidates' entries by id, in one read and without their token states: only the candidate being
    /// verified needs those.
    private func candidateEntries(_ candidates: [SearchResult]) throws -> [Int64: CacheEntry] {
        let entries = try store.readNow { db in
            let placeholders = Array(repeating: "?", count: candidates.count).joined(separator: ", ")
            return try CacheEntry.fetchAll(
                db.cachedStatement(sql: CacheEntry.selectWithoutTokenStates + " WHERE id IN (\(placeholders))"),
                arguments: StatementArguments(candidates.map(\.label)))
        }
        return Dictionary(entries.map { ($0.id!, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func verified(
        _ candidates: [SearchResult], entries byID: [Int64: CacheEntry], query: EncodedText, prompt: String,
        key: CacheKey, index: PersistentHNSWIndex, now: Double, withdrawn: Set<Int64>,
        operatingPoint: (threshold: Double, strictness: Double, band: Double)
    ) throws -> Lookup {
        let (threshold, strictness, band) = operatingPoint
        var nearMiss: Hit?
        let (verifier, positions, cosineThreshold) = tuning.withLock {
            ($0.verifier, $0.fitted?.positions ?? [], $0.settings.threshold)
        }
        var verifications = 0
        for candidate in candidates {
            guard verifications < Self.maxVerified else { break }
            guard !withdrawn.contains(candidate.label), let entry = byID[candidate.label], entry.scope == key.scope,
                entry.expiresAt > now,
                let response = entry.decodedResponse
            else { continue }
            var hit = Hit(
                entry: entry, response: response, semantic: true, similarity: Double(candidate.similarity),
                query: prompt)
            if hit.similarity < threshold {
                if nearMiss == nil { nearMiss = hit }
                continue
            }
            if let verifier {
                let verifying = DispatchTime.now().uptimeNanoseconds
                let score = verify(
                    query, prompt: prompt, against: entry, verifier: verifier, positions: positions, index: index)
                if score != nil { verifications += 1 }
                statistics.recordVerification(
                    milliseconds: Double(DispatchTime.now().uptimeNanoseconds - verifying) / 1e6)
                guard let score else {
                    // An entry stored without token states is judged by the cosine threshold alone.
                    if hit.similarity >= cosineThreshold { return .hit(hit) }
                    continue
                }
                hit.verifierScore = score
                let point = verifier.threshold + strictness
                guard score >= point else {
                    if nearMiss == nil, score >= point - band { nearMiss = hit }
                    continue
                }
            }
            return .hit(hit)
        }
        return .miss(encoded: query, nearMiss: nearMiss)
    }

    /// The verifier's score of a candidate entry, or nil if the entry has no token states.
    private func verify(
        _ query: EncodedText, prompt: String, against entry: CacheEntry, verifier: Verifier, positions: [Int],
        index: PersistentHNSWIndex
    )
        -> Double?
    {
        guard let id = entry.id, let candidatePrompt = entry.prompt, let vector = index.vector(for: id),
            let states = try? store.readNow({ db in
                try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT token_ids, token_states FROM cache_entry WHERE id = ?"),
                    arguments: [id])
            }),
            let stored = TokenStateCoding.decode(
                ids: states["token_ids"], states: states["token_states"], vector: vector),
            let tokens = embedder as? any TokenEmbedder
        else { return nil }
        return FittedVerifier(verifier: verifier, positions: positions).score(
            VerifierInput(text: prompt, encoded: query), VerifierInput(text: candidatePrompt, encoded: stored),
            vocabulary: tokens.tokenizer.vocabulary)
    }

    private func exactHit(_ key: CacheKey, now: Double) throws -> Hit? {
        guard
            let entry = try store.database.read({ db in
                try CacheEntry.fetchOne(
                    db.cachedStatement(sql: CacheEntry.selectWithoutTokenStates + " WHERE exact_key = ?"),
                    arguments: [key.exact])
            }),
            entry.scope == key.scope, entry.expiresAt > now, let response = entry.decodedResponse
        else { return nil }
        return Hit(entry: entry, response: response, semantic: false, similarity: 1)
    }

    /// Counts a hit for statistics and for the entry's last use (written in the next flush).
    func noteHit(_ hit: Hit) {
        statistics.recordHit(
            semantic: hit.semantic, tokens: hit.entry.promptTokens + hit.entry.completionTokens, cost: hit.entry.cost)
        let now = clock.wallTime()
        pendingUses.withLock { uses in
            let previous = uses[hit.entry.id!] ?? (0, 0)
            uses[hit.entry.id!] = (previous.hits + 1, max(previous.lastUsed, now))
        }
    }

    func noteMiss() { statistics.recordMiss() }

    // MARK: - Storing

    /// Stores `response` as the answer to `request`, replacing an entry with the same exact key, with its
    /// vector indexed in the same transaction.
    /// - Returns: the new entry's id.
    @discardableResult
    func store(
        _ response: ChatResponse, request: ChatRequest, key: CacheKey, encoded: EncodedText?, ttl: Double?, cost: Double
    )
        async throws -> Int64
    {
        try await RequestTrace.child("cache.store") { span in
            let id = try await insert(response, request: request, key: key, encoded: encoded, ttl: ttl, cost: cost)
            span?.attributes["routershift.cache.entry"] = Int(id)
            return id
        }
    }

    private func insert(
        _ response: ChatResponse, request: ChatRequest, key: CacheKey, encoded: EncodedText?, ttl: Double?, cost: Double
    ) async throws -> Int64 {
        var encoded = encoded
        if encoded == nil, let prompt = key.prompt, let embedder {
            encoded = try await encode(prompt, embedder: embedder)
        }
        let vector = encoded?.vector
        let vocabulary = (embedder as? any TokenEmbedder)?.tokenizer.vocabulary
        let tokens =
            verifier != nil && encoded?.tokenIDs.isEmpty == false
            ? vocabulary.flatMap { vocabulary in encoded.map { TokenStateCoding.encode($0, vocabulary: vocabulary) } }
            : nil
        let now = clock.wallTime()
        let entry = CacheEntry(
            id: nil, exactKey: key.exact, scope: key.scope, tenant: key.tenant, model: request.model,
            prompt: vector == nil ? nil : key.prompt,
            request: request.canonicalJSON.sortedJSONString, response: response.canonicalJSON.sortedJSONString,
            promptTokens: response.usage?.promptTokens ?? 0, completionTokens: response.usage?.completionTokens ?? 0,
            cost: cost,
            createdAt: now, expiresAt: now + (ttl ?? settings.ttl), lastUsedAt: now, hits: 0, tokenIDs: tokens?.ids,
            tokenStates: tokens?.states)
        let index = index
        let draft = entry
        let indexed = vector
        let (replaced, id) = try await store.database.write { db -> (Int64?, Int64) in
            var entry = draft
            var replaced: Int64?
            if let old = try CacheEntry.filter(Column("exact_key") == key.exact).fetchOne(db), let id = old.id {
                _ = try CacheEntry.deleteOne(db, key: id)
                try index?.remove(id, in: db)
                replaced = id
            }
            try entry.insert(db)
            if let indexed, let index { try index.insert(indexed, label: entry.id!, in: db) }
            return (replaced, entry.id!)
        }
        if let replaced { scopes.remove(entry: replaced) }
        if vector != nil { scopes.add(entry: id, scope: key.scope) }
        return id
    }
}
