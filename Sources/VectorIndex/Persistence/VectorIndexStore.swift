import Foundation
import GRDB

/// The SQLite tables of one named index: a row per index in `vector_index` (dimension, parameters, entry
/// point) and a row per slot in `vector_index_<name>` (label, level, vector, links).
///
/// Every operation writes the rows it changed in the caller's transaction, so the file always holds a
/// graph that some sequence of committed operations built; opening reads the rows back without a rebuild.
struct VectorIndexStore {
    let name: String
    let nodeTable: String

    struct Meta {
        var dimension: Int
        var parameters: HNSWParameters
        var entryPoint: UInt32?
        var maxLevel: Int
    }

    init(name: String) throws(VectorIndexError) {
        guard !name.isEmpty, name.count <= 64,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else {
            throw .invalidParameter("index name must be 1 to 64 ASCII letters, digits or underscores, not \"\(name)\"")
        }
        self.name = name
        nodeTable = "vector_index_\(name)"
    }

    // MARK: - Schema and metadata

    func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS vector_index (
                    name TEXT PRIMARY KEY NOT NULL,
                    dimension INTEGER NOT NULL,
                    m INTEGER NOT NULL,
                    ef_construction INTEGER NOT NULL,
                    ef_search INTEGER NOT NULL,
                    seed INTEGER NOT NULL,
                    entry_point INTEGER,
                    max_level INTEGER NOT NULL
                );
                CREATE TABLE IF NOT EXISTS "\(nodeTable)" (
                    slot INTEGER PRIMARY KEY NOT NULL,
                    label INTEGER,
                    level INTEGER NOT NULL,
                    vector BLOB NOT NULL,
                    links BLOB NOT NULL
                );
                """)
        try createGenerationCounter(db)
    }

    /// The columns and trigger that say which state of an index a ``GraphSnapshot`` holds, added to a
    /// database of an earlier version too. `generation` advances with every write of an index's entry point
    /// or top level, which every change to its rows makes (whatever version of the code makes it);
    /// `incarnation`, drawn when first missing, tells an index from another of the same name made later.
    private func createGenerationCounter(_ db: Database) throws {
        let columns = Set(try db.columns(in: "vector_index").map(\.name))
        if !columns.contains("generation") {
            try db.execute(sql: "ALTER TABLE vector_index ADD COLUMN generation INTEGER NOT NULL DEFAULT 0")
        }
        if !columns.contains("incarnation") {
            try db.execute(sql: "ALTER TABLE vector_index ADD COLUMN incarnation INTEGER")
        }
        try db.execute(
            sql: """
                CREATE TRIGGER IF NOT EXISTS vector_index_generation
                AFTER UPDATE OF entry_point, max_level ON vector_index
                BEGIN
                    UPDATE vector_index SET generation = generation + 1 WHERE name = NEW.name;
                END
                """)
    }

    /// The index's generation and incarnation (drawing the incarnation if it has none yet), and its slot
    /// count: what a snapshot of its present state records.
    func snapshotState(_ db: Database) throws -> (generation: Int64, incarnation: Int64, slots: Int64) {
        try db.execute(
            sql: "UPDATE vector_index SET incarnation = random() WHERE name = ? AND incarnation IS NULL",
            arguments: [name])
        let row = try Row.fetchOne(
            db, sql: "SELECT generation, incarnation FROM vector_index WHERE name = ?", arguments: [name])
        // Slots are dense from 0, so the largest is found in the primary key without a scan.
        let slots = try Int64.fetchOne(db, sql: "SELECT coalesce(max(slot) + 1, 0) FROM \"\(nodeTable)\"") ?? 0
        return (row?["generation"] ?? 0, row?["incarnation"] ?? 0, slots)
    }

    /// Sets the `efSearch` of a stored index, which does not change its graph (nor its generation).
    func updateEfSearch(_ db: Database, _ efSearch: Int) throws {
        try db.execute(sql: "UPDATE vector_index SET ef_search = ? WHERE name = ?", arguments: [efSearch, name])
    }

    func readMeta(_ db: Database) throws -> Meta? {
        guard try db.tableExists("vector_index"),
            let row = try Row.fetchOne(db, sql: "SELECT * FROM vector_index WHERE name = ?", arguments: [name])
        else { return nil }
        let entry: Int64? = row["entry_point"]
        return Meta(
            dimension: row["dimension"],
            parameters: HNSWParameters(
                m: row["m"], efConstruction: row["ef_construction"], efSearch: row["ef_search"],
                seed: UInt64(bitPattern: row["seed"])),
            entryPoint: entry.map { UInt32($0) },
            maxLevel: row["max_level"])
    }

    func writeMeta(_ db: Database, _ meta: Meta) throws {
        try db.execute(
            sql: """
                INSERT INTO vector_index (name, dimension, m, ef_construction, ef_search, seed, entry_point, max_level)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET entry_point = excluded.entry_point, max_level = excluded.max_level,
                    ef_search = excluded.ef_search
                """,
            arguments: [
                name, meta.dimension, meta.parameters.m, meta.parameters.efConstruction, meta.parameters.efSearch,
                Int64(bitPattern: meta.parameters.seed), meta.entryPoint.map { Int64($0) }, meta.maxLevel,
            ])
    }

    // MARK: - Rows

    /// Reads every slot into `graph`, which must be empty, then its entry point.
    func load(_ db: Database, meta: Meta, into graph: HNSWGraph) throws {
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(nodeTable)\"") ?? 0
        graph.storage.reserve(total)
        let rows = try Row.fetchCursor(
            db, sql: "SELECT slot, label, level, vector, links FROM \"\(nodeTable)\" ORDER BY slot")
        while let row = try rows.next() {
            let slot: Int64 = row[0]
            let level: Int = row[2]
            guard slot == Int64(graph.storage.slotCount), (0...LevelGenerator.maxLevel).contains(level) else {
                throw VectorIndexError.corruptStore("slot \(slot) out of sequence or at level \(level)")
            }
            let restored = graph.restoreSlot(label: row[1], level: level)
            try row.withUnsafeData(atIndex: 3) { vector in
                try row.withUnsafeData(atIndex: 4) { links in
                    guard let vector, let links else {
                        throw VectorIndexError.corruptStore("slot \(slot) lacks its vector or links")
                    }
                    try NodeRow.restore(slot: restored, vector: vector, links: links, into: graph)
                }
            }
        }
        try validateLinks(of: graph, meta: meta)
        graph.restoreEntry(meta.entryPoint, maxLevel: meta.maxLevel)
    }

    /// Checks that the entry point is a slot at the top level and that every link list fits its level and
    /// leads to a slot that reaches that level.
    func validateLinks(of graph: HNSWGraph, meta: Meta) throws(VectorIndexError) {
        let storage = graph.storage
        let slots = storage.slotCount
        if let entry = meta.entryPoint {
            guard Int(entry) < slots, Int(storage.levels[Int(entry)]) == meta.maxLevel else {
                throw VectorIndexError.corruptStore("entry point \(entry) is not a slot at level \(meta.maxLevel)")
            }
        } else if slots > 0 {
            throw VectorIndexError.corruptStore("\(slots) slots but no entry point")
        }
        for slot in 0..<UInt32(slots) {
            for level in 0...Int(storage.levels[Int(slot)]) {
                let links = storage.links(slot, level: level)
                guard Int(links[0]) <= storage.maxLinks(level: level) else {
                    throw VectorIndexError.corruptStore("slot \(slot) has \(links[0]) links at level \(level)")
                }
                for index in 0..<Int(links[0]) {
                    let target = links[index + 1]
                    guard Int(target) < slots, Int(storage.levels[Int(target)]) >= level else {
                        throw VectorIndexError.corruptStore("slot \(slot) links to \(target) at level \(level)")
                    }
                }
            }
        }
    }

    /// Writes changed rows and the entry point.
    func write(_ db: Database, rows: some Sequence<NodeRow>, meta: Meta) throws {
        let replaceRow = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO \"\(nodeTable)\" (slot, label, level, vector, links) VALUES (?, ?, ?, ?, ?)")
        let updateLinks = try db.cachedStatement(sql: "UPDATE \"\(nodeTable)\" SET links = ? WHERE slot = ?")
        for row in rows {
            if let vector = row.vector {
                try replaceRow.execute(arguments: [Int64(row.slot), row.label, row.level, vector, row.links])
            } else {
                try updateLinks.execute(arguments: [row.links, Int64(row.slot)])
            }
        }
        try writeMeta(db, meta)
    }

    /// Deletes the index's rows and its metadata.
    func drop(_ db: Database) throws {
        try db.execute(sql: "DROP TABLE IF EXISTS \"\(nodeTable)\"")
        if try db.tableExists("vector_index") {
            try db.execute(sql: "DELETE FROM vector_index WHERE name = ?", arguments: [name])
        }
    }
}
