import GRDB

extension PersistentHNSWIndex {
    /// The dimension of the index `name` stored in `database`, or nil when there is none: what a tool that
    /// opens the index without its embedding model (to remove or export entries) passes as `dimension`.
    public static func storedDimension(in database: any DatabaseReader, name: String = "default") throws -> Int? {
        let store = try VectorIndexStore(name: name)
        return try database.read { db in try store.readMeta(db)?.dimension }
    }
}

extension PersistentHNSWIndex {
    /// How many labelled nodes the index `name` stores and their average bytes (vector and links), or nil when
    /// there is no such index: the index's share of what a cache entry costs on disk.
    public static func storedNodeBytes(_ db: Database, name: String = "default") throws -> (
        nodes: Int, averageBytes: Double
    )? {
        let store = try VectorIndexStore(name: name)
        guard try db.tableExists(store.nodeTable),
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*), coalesce(avg(length(vector) + length(links)), 0) FROM "\(store.nodeTable)"
                    WHERE label IS NOT NULL
                    """)
        else { return nil }
        return (row[0], row[1])
    }
}
