import Foundation
import GRDB

/// Each model group's audit controller (``AuditedOperatingPoint``) as JSON, written after every audit so a
/// restart keeps what the audits have shown and the operating point they set.
extension GatewayStore {
    static func registerAuditMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v13-cache-audit-state") { db in
            try db.create(table: "cache_audit_group") { table in
                table.primaryKey("model", .text)
                table.column("state", .text).notNull()
                // Audits observed: a save that is older than the row (audits finish concurrently) is dropped.
                table.column("observations", .integer).notNull()
                table.column("updated_at", .double).notNull()
            }
        }
    }

    /// Every group's saved controller; a row this build cannot read is left out (its group starts afresh).
    func auditGroups() throws -> [String: AuditedOperatingPoint] {
        let rows = try readNow { db in try Row.fetchAll(db, sql: "SELECT model, state FROM cache_audit_group") }
        var groups: [String: AuditedOperatingPoint] = [:]
        for row in rows {
            guard let state = (row["state"] as String).data(using: .utf8),
                let point = try? JSONDecoder().decode(AuditedOperatingPoint.self, from: state)
            else { continue }
            groups[row["model"]] = point
        }
        return groups
    }

    func saveAuditGroup(_ model: String, _ point: AuditedOperatingPoint, now: Double) throws {
        let state = String(decoding: try JSONEncoder().encode(point), as: UTF8.self)
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO cache_audit_group (model, state, observations, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (model) DO UPDATE SET state = excluded.state, observations = excluded.observations,
                        updated_at = excluded.updated_at
                    WHERE excluded.observations > cache_audit_group.observations
                    """, arguments: [model, state, point.observations, now])
        }
    }

    func deleteAuditGroups() throws {
        try database.write { db in try db.execute(sql: "DELETE FROM cache_audit_group") }
    }
}
