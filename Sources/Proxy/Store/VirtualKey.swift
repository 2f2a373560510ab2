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

/// Issuing, finding, changing and revoking virtual keys.
public protocol KeyStore: Sendable {
    /// Creates a key; the secret is returned once and never stored.
    func createKey(_ draft: KeyDraft, now: Double) throws -> (key: VirtualKey, secret: String)
    func keys(includeRevoked: Bool) throws -> [VirtualKey]
    /// The key whose secret hashes to `hash`, revoked or not.
    func key(hash: String) throws -> VirtualKey?
    func key(id: String) throws -> VirtualKey?
    /// Revokes the key with this id or secret prefix; returns it, or nil if none matched.
    func revokeKey(_ idOrPrefix: String, now: Double) throws -> VirtualKey?
    /// Changes the key with this id or secret prefix once `check` accepts the changed key; returns it, or nil
    /// if none matched.
    func updateKey(_ idOrPrefix: String, _ change: KeyChange, check: (VirtualKey) throws -> Void) throws
        -> VirtualKey?
}

extension GatewayStore: KeyStore {
    public func createKey(_ draft: KeyDraft, now: Double) throws -> (key: VirtualKey, secret: String) {
        let secret = "sk-rs-" + ChatIdentifiers.random(40)
        let models = try draft.models.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let key = VirtualKey(
            id: "key_" + ChatIdentifiers.random(16), name: draft.name, hash: Secrets.sha256Hex(secret),
            prefix: String(secret.prefix(12)), team: draft.team, allowedModels: models, rpm: draft.rpm, tpm: draft.tpm,
            maxParallel: draft.maxParallel, budget: draft.budget, budgetPeriod: draft.budgetPeriod,
            createdAt: now, revokedAt: nil, cacheAudit: draft.cacheAudit)
        try database.write { db in try key.insert(db) }
        return (key, secret)
    }

    public func keys(includeRevoked: Bool) throws -> [VirtualKey] {
        try database.read { db in
            var request = VirtualKey.order(Column("created_at"))
            if !includeRevoked { request = request.filter(Column("revoked_at") == nil) }
            return try request.fetchAll(db)
        }
    }

    public func key(hash: String) throws -> VirtualKey? {
        try database.read { db in try VirtualKey.filter(Column("hash") == hash).fetchOne(db) }
    }

    public func key(id: String) throws -> VirtualKey? {
        try database.read { db in try VirtualKey.fetchOne(db, key: id) }
    }

    public func revokeKey(_ idOrPrefix: String, now: Double) throws -> VirtualKey? {
        try database.write { db in
            guard
                var key = try VirtualKey.filter(Column("id") == idOrPrefix || Column("prefix") == idOrPrefix).fetchOne(
                    db)
            else { return nil }
            if key.revokedAt == nil {
                key.revokedAt = now
                try key.update(db)
            }
            return key
        }
    }
}
