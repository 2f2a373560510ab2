import Foundation

/// What `PATCH /admin/keys/{id}` and `routershift keys update` change on a key: a field left nil stays as it
/// is, one set to `.some(nil)` is cleared (no limit, every model, no team). The secret, id and creation time
/// never change; a revoked key does not change at all.
public struct KeyChange: Sendable, Equatable {
    public var name: String?
    public var team: String??
    public var models: [String]??
    public var rpm: Int??
    public var tpm: Int??
    public var maxParallel: Int??
    public var budget: Double??
    public var budgetPeriod: String??
    public var cacheAudit: Bool??

    public init() {}

    /// Whether the change changes nothing.
    public var isEmpty: Bool { self == KeyChange() }

    /// `key` with the change made.
    public func applied(to key: VirtualKey) throws -> VirtualKey {
        var key = key
        if let name { key.name = name }
        if let team { key.team = team }
        if let models {
            key.allowedModels = try models.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        }
        if let rpm { key.rpm = rpm }
        if let tpm { key.tpm = tpm }
        if let maxParallel { key.maxParallel = maxParallel }
        if let budget { key.budget = budget }
        if let budgetPeriod { key.budgetPeriod = budgetPeriod }
        if let cacheAudit { key.cacheAudit = cacheAudit }
        return key
    }
}

extension KeyDraft {
    /// What `key` holds, as a draft would give it: for checking a changed key as a new one is checked.
    public init(of key: VirtualKey) {
        self.init(
            name: key.name, team: key.team, models: key.models, rpm: key.rpm, tpm: key.tpm,
            maxParallel: key.maxParallel, budget: key.budget, budgetPeriod: key.budgetPeriod,
            cacheAudit: key.cacheAudit)
    }
}
