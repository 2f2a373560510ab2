import Foundation
import GRDB

/// A key the gateway issued to a client: its limits and the models it may use. The secret itself is
/// never stored, only its SHA-256.
public struct VirtualKey: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "virtual_key"

    public var id: String
    public var name: String
    /// Hex SHA-256 of the secret.
    public var hash: String
    /// The secret's first characters, to recognise it in lists.
    public var prefix: String
    public var team: String?
    /// JSON array of model names; nil allows every model.
    public var allowedModels: String?
    public var rpm: Int?
    public var tpm: Int?
    public var maxParallel: Int?
    /// Maximum spend in dollars per `budgetPeriod`.
    public var budget: Double?
    /// "day", "week", "month" or "total".
    public var budgetPeriod: String?
    public var createdAt: Double
    public var revokedAt: Double?
    /// False when the key's semantic hits must never be audited (re-asked upstream); nil allows it.
    public var cacheAudit: Bool?

    enum CodingKeys: String, CodingKey {
        case id, name, hash, prefix, team
        case allowedModels = "allowed_models"
        case rpm, tpm
        case maxParallel = "max_parallel"
        case budget
        case budgetPeriod = "budget_period"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
        case cacheAudit = "cache_audit"
    }

    public var models: [String]? {
        allowedModels.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }

    public func allows(model: String) -> Bool {
        guard let models else { return true }
        return models.contains(model)
    }

    public var isRevoked: Bool { revokedAt != nil }
}

/// What a new key is given.
public struct KeyDraft: Sendable {
    public var name: String
    public var team: String?
    public var models: [String]?
    public var rpm: Int?
    public var tpm: Int?
    public var maxParallel: Int?
    public var budget: Double?
    public var budgetPeriod: String?
    public var cacheAudit: Bool?

    public init(
        name: String, team: String? = nil, models: [String]? = nil, rpm: Int? = nil, tpm: Int? = nil,
        maxParallel: Int? = nil, budget: Double? = nil, budgetPeriod: String? = nil, cacheAudit: Bool? = nil
    ) {
        self.cacheAudit = cacheAudit
        self.name = name
        self.team = team
        self.models = models
        self.rpm = rpm
        self.tpm = tpm
        self.maxParallel = maxParallel
        self.budget = budget
        self.budgetPeriod = budgetPeriod
    }
}

/// Issuing, finding, changing and revoking virtual keys: in SQLite (``GatewayStore``) or in PostgreSQL
/// (``PostgresStore``), which pass one test suite.
public protocol KeyStore: Sendable {
    /// Creates a key; the secret is returned once and never stored.
    func createKey(_ draft: KeyDraft, now: Double) async throws -> (key: VirtualKey, secret: String)
    func keys(includeRevoked: Bool) async throws -> [VirtualKey]
    /// The key whose secret hashes to `hash`, revoked or not.
    func key(hash: String) async throws -> VirtualKey?
    func key(id: String) async throws -> VirtualKey?
    /// Revokes the key with this id or secret prefix; returns it, or nil if none matched.
    func revokeKey(_ idOrPrefix: String, now: Double) async throws -> VirtualKey?
    /// Changes the key with this id or secret prefix once `check` accepts the changed key, in one transaction;
    /// returns it, or nil if none matched.
    ///
    /// - Throws: ``GatewayError`` 409 for a revoked key, or what `check` throws.
    func updateKey(_ idOrPrefix: String, _ change: KeyChange, check: @escaping @Sendable (VirtualKey) throws -> Void)
        async throws -> VirtualKey?
}

extension VirtualKey {
    /// A new key for `draft`, and its secret.
    static func issue(_ draft: KeyDraft, now: Double) throws -> (key: VirtualKey, secret: String) {
        let secret = "sk-rs-" + ChatIdentifiers.random(40)
        let models = try draft.models.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let key = VirtualKey(
            id: "key_" + ChatIdentifiers.random(16), name: draft.name, hash: Secrets.sha256Hex(secret),
            prefix: String(secret.prefix(12)), team: draft.team, allowedModels: models, rpm: draft.rpm, tpm: draft.tpm,
            maxParallel: draft.maxParallel, budget: draft.budget, budgetPeriod: draft.budgetPeriod,
            createdAt: now, revokedAt: nil, cacheAudit: draft.cacheAudit)
        return (key, secret)
    }

    /// The refusal of a change to a revoked key.
    var revokedConflict: GatewayError {
        GatewayError(.conflict, "The key `\(id)` is revoked; it cannot be changed.", code: "key_revoked")
    }
}

extension GatewayStore: KeyStore {
    public func createKey(_ draft: KeyDraft, now: Double) async throws -> (key: VirtualKey, secret: String) {
        let issued = try VirtualKey.issue(draft, now: now)
        try await StoreThreads.run { try self.database.write { db in try issued.key.insert(db) } }
        return issued
    }

    public func keys(includeRevoked: Bool) async throws -> [VirtualKey] {
        try await StoreThreads.run {
            try self.database.read { db in
                var request = VirtualKey.order(Column("created_at"))
                if !includeRevoked { request = request.filter(Column("revoked_at") == nil) }
                return try request.fetchAll(db)
            }
        }
    }

    public func key(hash: String) async throws -> VirtualKey? {
        try await StoreThreads.run {
            try self.database.read { db in try VirtualKey.filter(Column("hash") == hash).fetchOne(db) }
        }
    }

    public func key(id: String) async throws -> VirtualKey? {
        try await StoreThreads.run { try self.database.read { db in try VirtualKey.fetchOne(db, key: id) } }
    }

    public func revokeKey(_ idOrPrefix: String, now: Double) async throws -> VirtualKey? {
        try await StoreThreads.run {
            try self.database.write { db in
                guard var key = try Self.key(db, idOrPrefix: idOrPrefix) else { return nil }
                if key.revokedAt == nil {
                    key.revokedAt = now
                    try key.update(db)
                }
                return key
            }
        }
    }

    public func updateKey(
        _ idOrPrefix: String, _ change: KeyChange, check: @escaping @Sendable (VirtualKey) throws -> Void
    ) async throws -> VirtualKey? {
        try await StoreThreads.run {
            try self.database.write { db in
                guard let key = try Self.key(db, idOrPrefix: idOrPrefix) else { return nil }
                guard !key.isRevoked else { throw key.revokedConflict }
                let changed = try change.applied(to: key)
                try check(changed)
                if changed != key { try changed.update(db) }
                return changed
            }
        }
    }

    private static func key(_ db: Database, idOrPrefix: String) throws -> VirtualKey? {
        try VirtualKey.filter(Column("id") == idOrPrefix || Column("prefix") == idOrPrefix).fetchOne(db)
    }
}
