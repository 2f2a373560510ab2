import Foundation
import GRDB

/// Feedback on semantic hits (`POST /v1/cache/feedback`): a hit marked wrong stops being served, for the
/// key that said so (or for everyone, when the master key says so), and becomes a labelled pair; one marked
/// right is a labelled pair too. Labels wait for the master key's review before training may use them.
extension SemanticCache {
    /// A prompt and entry no longer served together, for one key or for everyone (`*`).
    struct Withdrawal: Sendable, Hashable {
        let entryID: Int64
        let promptHash: String
        let withdrawnFor: String
    }

    static let everyone = "*"
    /// The prompt hash of an entry retired from every semantic hit (an audit judged one of its hits wrong).
    static let everyPrompt = "*"

    /// What feedback on a request did.
    public struct FeedbackOutcome: Sendable, Equatable {
        public let label: CacheLabel
        /// Whether the pair stopped being served.
        public let withdrawn: Bool
    }

    /// Notes a semantic hit for feedback on its request (`x-request-id`), written with the next flush.
    func noteSemanticHit(_ hit: Hit, prompt: String, caller: String) {
        guard let requestID = RequestID.current, let entryID = hit.entry.id else { return }
        let record = SemanticHitRecord(
            requestID: requestID, keyID: caller, entryID: entryID, prompt: prompt, similarity: hit.similarity,
            verifierScore: hit.verifierScore, time: clock.wallTime())
        pendingHits.withLock { hits in
            // Bounded between flushes; the oldest go first.
            if hits.count >= Self.maxPendingHits { hits.removeFirst(hits.count - Self.maxPendingHits + 1) }
            hits.append(record)
        }
    }

    static let maxPendingHits = 10_000

    static func promptHash(_ prompt: String) -> String { Secrets.sha256Hex(prompt) }

    /// The entries withdrawn from answering `prompt` for `caller`; empty at the cost of a lock when nothing
    /// was ever withdrawn.
    func withdrawnEntries(prompt: String, caller: String) -> Set<Int64> {
        guard let withdrawals = withdrawals.withLock({ $0.isEmpty ? nil : $0 }) else { return [] }
        let hash = Self.promptHash(prompt)
        return Set(
            withdrawals.lazy.filter {
                ($0.promptHash == hash || $0.promptHash == Self.everyPrompt)
                    && ($0.withdrawnFor == caller || $0.withdrawnFor == Self.everyone)
            }
            .map(\.entryID))
    }

    /// Reads the withdrawals into memory, where lookups check them.
    func loadWithdrawals() throws {
        let rows = try store.database.read { db in
            try Row.fetchAll(db, sql: "SELECT entry_id, prompt_hash, withdrawn_for FROM cache_withdrawal")
        }
        let loaded = Set(rows.map { Withdrawal(entryID: $0[0], promptHash: $0[1], withdrawnFor: $0[2]) })
        withdrawals.withLock { $0 = loaded }
    }

    /// Records `principal`'s judgement of the semantic hit that answered `requestID`.
    ///
    /// - Throws: ``GatewayError`` 404 when no semantic hit answered that request for this key (another key's
    ///   request reads the same, so feedback reveals nothing of it), or its entry has since been removed.
    public func feedback(requestID: String, correct: Bool, from principal: Principal) throws -> FeedbackOutcome {
        try flush()
        let notFound = GatewayError(
            .notFound, "No semantic cache hit answered a request `\(requestID)` of this key.",
            code: "cache_hit_not_found")
        guard
            let hit = try store.database.read({ db in
                try SemanticHitRecord.fetchOne(db, key: requestID)
            })
        else { throw notFound }
        if case .key(let key) = principal, key.id != hit.keyID { throw notFound }
        guard
            let matched = try store.database.read({ db in
                try String.fetchOne(db, sql: "SELECT prompt FROM cache_entry WHERE id = ?", arguments: [hit.entryID])
            })
        else {
            throw GatewayError(
                .notFound, "The cached entry that answered `\(requestID)` has since been removed.",
                code: "cache_entry_removed")
        }
        let withdrawnFor: String? = correct ? nil : (principal.isMaster ? Self.everyone : hit.keyID)
        var label = CacheLabel(
            source: "feedback", requestID: requestID, keyID: hit.keyID, prompt: hit.prompt, matchedPrompt: matched,
            entryID: hit.entryID, correct: correct, similarity: hit.similarity, verifierScore: hit.verifierScore,
            status: "pending", withdrawnFor: withdrawnFor, createdAt: clock.wallTime())
        let withdrawal = Self.withdrawal(made: label)
        try store.database.write { db in
            // Feedback given again replaces the earlier judgement, and what it withdrew.
            if let earlier = try CacheLabel.filter(Column("source") == "feedback" && Column("request_id") == requestID)
                .fetchOne(db)
            {
                try Self.restore(earlier, db)
                try earlier.delete(db)
            }
            try label.insert(db)
            if let withdrawal { try Self.insert(withdrawal, db) }
        }
        try loadWithdrawals()
        return FeedbackOutcome(label: label, withdrawn: withdrawal != nil)
    }

    /// The latest semantic hits, newest first, each with the cached prompt that answered it (nil once its
    /// entry is gone): the request's prompt beside the matched one, as the dashboard shows them.
    public func recentHits(limit: Int) throws -> [(hit: SemanticHitRecord, matchedPrompt: String?)] {
        try flush()
        return try store.database.read { db in
            let hits = try SemanticHitRecord.order(Column("time").desc).limit(limit).fetchAll(db)
            let prompts = try Dictionary(
                Row.fetchAll(db, CacheEntry.filter(keys: hits.map(\.entryID)).select(Column("id"), Column("prompt")))
                    .map { ($0["id"] as Int64, $0["prompt"] as String?) }, uniquingKeysWith: { first, _ in first })
            return hits.map { ($0, prompts[$0.entryID] ?? nil) }
        }
    }

    /// Labels, newest first; `status` narrows them to `pending` or `approved`.
    public func labels(status: String?, limit: Int) throws -> [CacheLabel] {
        try store.database.read { db in
            var request = CacheLabel.order(Column("id").desc).limit(limit)
            if let status { request = request.filter(Column("status") == status) }
            return try request.fetchAll(db)
        }
    }

    /// Records an audit's judgement of a semantic hit, or of a near-miss, as a pending labelled pair (the
    /// judge may err); an entry whose hit was judged wrong stops serving semantic hits, for everyone (a
    /// near-miss served nothing, so it withdraws nothing).
    func recordAudit(of hit: Hit, wrong: Bool, nearMiss: Bool = false) throws {
        guard let entryID = hit.entry.id, let query = hit.query, let matched = hit.entry.prompt else { return }
        var label = CacheLabel(
            source: nearMiss ? "near-miss" : "audit",
            requestID: RequestID.current ?? "audit_" + ChatIdentifiers.random(24), keyID: "audit",
            prompt: query, matchedPrompt: matched, entryID: entryID, correct: !wrong, similarity: hit.similarity,
            verifierScore: hit.verifierScore, status: "pending", withdrawnFor: wrong && !nearMiss ? Self.everyone : nil,
            createdAt: clock.wallTime())
        let withdrawal = Self.withdrawal(made: label)
        try store.database.write { db in
            try label.insert(db, onConflict: .replace)
            if let withdrawal { try Self.insert(withdrawal, db) }
        }
        if withdrawal != nil { try loadWithdrawals() }
    }

    /// The labels the master key approved, as pairs for training (`train-verifier --from-labels`), oldest
    /// first; read from the database alone, without the embedding model.
    public static func approvedPairs(in store: GatewayStore) throws -> [LabelledPair] {
        try store.database.read { db in
            try CacheLabel.filter(Column("status") == "approved").order(Column("id")).fetchAll(db)
        }.map { LabelledPair(first: $0.prompt, second: $0.matchedPrompt, isDuplicate: $0.correct) }
    }

    /// Approves a label for training.
    public func approveLabel(_ id: Int64) throws -> CacheLabel? {
        try store.database.write { db in
            guard var label = try CacheLabel.fetchOne(db, key: id) else { return nil }
            label.status = "approved"
            try label.update(db)
            return label
        }
    }

    /// Deletes a label (one that looks like poisoning, say), and serves again the pair it withdrew.
    public func deleteLabel(_ id: Int64) throws -> Bool {
        let deleted = try store.database.write { db -> Bool in
            guard let label = try CacheLabel.fetchOne(db, key: id) else { return false }
            try Self.restore(label, db)
            return try label.delete(db)
        }
        try loadWithdrawals()
        return deleted
    }

    /// What `label` withdrew: for feedback, its prompt from its entry; for an audit, every prompt from it.
    private static func withdrawal(made label: CacheLabel) -> Withdrawal? {
        label.withdrawnFor.map {
            Withdrawal(
                entryID: label.entryID, promptHash: label.source == "audit" ? everyPrompt : promptHash(label.prompt),
                withdrawnFor: $0)
        }
    }

    private static func insert(_ withdrawal: Withdrawal, _ db: Database) throws {
        try db.execute(
            sql: "INSERT OR IGNORE INTO cache_withdrawal (entry_id, prompt_hash, withdrawn_for) VALUES (?, ?, ?)",
            arguments: [withdrawal.entryID, withdrawal.promptHash, withdrawal.withdrawnFor])
    }

    /// Lifts what `label` withdrew.
    private static func restore(_ label: CacheLabel, _ db: Database) throws {
        guard let withdrawal = withdrawal(made: label) else { return }
        try db.execute(
            sql: "DELETE FROM cache_withdrawal WHERE entry_id = ? AND prompt_hash = ? AND withdrawn_for = ?",
            arguments: [withdrawal.entryID, withdrawal.promptHash, withdrawal.withdrawnFor])
    }
}
