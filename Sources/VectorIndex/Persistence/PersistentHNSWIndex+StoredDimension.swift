import GRDB

extension PersistentHNSWIndex {
    /// The dimension of the index `name` stored in `database`, or nil when there is none: what a tool that
    /// opens the index without its embedding model (to remove or export entries) passes as `dimension`.
    public static func storedDimension(in database: any DatabaseReader, name: String = "default") throws -> Int? {
        let store = try VectorIndexStore(name: name)
        return try database.read { db in try store.readMeta(db)?.dimension }
    }
}
