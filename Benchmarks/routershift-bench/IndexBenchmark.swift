import ArgumentParser
import BenchmarkSupport
import CVectorKernels
import Foundation
import GRDB
import VectorIndex

struct IndexBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract:
            "HNSW build time, memory, reopen time, insert latency, and recall@10 and queries/s per ef, beside hnswlib.")

    @Option(help: "Vectors to index (synthetic, clustered).") var n = 100_000
    @Option(help: "Held-out queries.") var queries = 1_000
    @Option(help: "Dimension of synthetic vectors, or of the rows in --vectors.") var dim = 384
    @Option(help: "Clusters of the synthetic data.") var clusters = 100
    @Option(
        help:
            "Raw little-endian float32 rows to use instead of synthetic data; the last --queries rows are the queries.")
    var vectors: String?
    @Option(help: "Comma-separated ef values to measure.") var efs = "10,20,40,80,160,320"
    @Option(help: "HNSW M.") var m = 16
    @Option(help: "HNSW efConstruction.") var efConstruction = 200
    @Option(help: "Timed passes over the queries per ef; the fastest counts.") var repeats = 3
    @Option(help: "Single inserts into the persisted index, each committed, for the insert latency.") var inserts = 200
    @Option(help: "Where the data files and the SQLite file go.") var workDir = ".build-peers/index-bench"
    @Flag(help: "Also measure filtered search: graph walk against exact scan at several selectivities.") var filtered =
        false
    @OptionGroup var output: OutputOptions

    func run() throws {
        let efList = efs.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !efList.isEmpty else { throw ValidationError("--efs needs at least one integer") }
        let work = URL(fileURLWithPath: workDir)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)

        let data = try loadData()
        let dimension = data.base[0].count
        progress("data: \(data.base.count) x \(dimension), \(data.queries.count) queries; computing exact top-10")
        var flat = FlatIndex(dimension: dimension)
        for (label, vector) in data.base.enumerated() { try flat.add(vector, label: Int64(label)) }
        let truth = try flat.search(batch: data.queries, k: 10)
        let files = try writeDataFiles(data, truth: truth, to: work)

        var rows: [ResultRow] = []
        let parameters = HNSWParameters(m: m, efConstruction: efConstruction)
        progress("routershift: building")
        let residentBefore = residentBytes()
        let index = try HNSWIndex(dimension: dimension, parameters: parameters, capacity: data.base.count)
        let buildSeconds = try seconds {
            for (label, vector) in data.base.enumerated() { try index.insert(vector, label: Int64(label)) }
        }
        let residentPerVector = Double(residentBytes() - residentBefore) / Double(data.base.count)
        var summary = ResultRow([
            ("engine", .string("routershift")), ("build_s", .double(buildSeconds, digits: 2)),
            ("bytes_per_vector", .double(Double(index.memoryBytes) / Double(data.base.count), digits: 0)),
            ("rss_bytes_per_vector", .double(residentPerVector, digits: 0)),
        ])

        for ef in efList {
            let (recallAt10, qps) = try measureQueries(index, queries: data.queries, truth: truth, ef: ef)
            rows.append(
                ResultRow([
                    ("engine", .string("routershift")), ("ef", .int(ef)),
                    ("recall_at_10", .double(recallAt10, digits: 3)), ("qps", .double(qps, digits: 0)),
                ]))
        }

        let persisted = try measurePersistence(index, extra: data.extra, work: work)
        summary.set("save_s", .double(persisted.save, digits: 2))
        summary.set("reopen_s", .double(persisted.reopen, digits: 3))
        summary.set("insert_ms_p50", .double(persisted.insertP50, digits: 3))
        summary.set("insert_ms_p99", .double(persisted.insertP99, digits: 3))
        rows.insert(summary, at: 0)

        if filtered { rows += try measureFiltered(index, queries: data.queries) }

        if !output.noPeer {
            progress("hnswlib: building and querying the same data")
            rows += try runPeer(
                "hnswlib", script: "hnswlib_peer.py",
                arguments: [
                    "--base", files.base.path, "--queries", files.queries.path, "--truth", files.truth.path,
                    "--dim", String(dimension), "--k", "10", "--efs", efList.map(String.init).joined(separator: ","),
                    "--m", String(m), "--ef-construction", String(efConstruction), "--repeats", String(repeats),
                ])
        }
        if output.json {
            rows.forEach { print($0.jsonLine()) }
        } else {
            printReport(rows, efList: efList, n: data.base.count, dimension: dimension)
        }
    }

    // MARK: - Data

    private struct DataSet {
        var base: [[Float]]
        var queries: [[Float]]
        /// Vectors for the single-insert latency, not in the index.
        var extra: [[Float]]
    }

    private func loadData() throws -> DataSet {
        if let vectors {
            var rows = try readRows(from: URL(fileURLWithPath: vectors), dimension: dim)
            guard rows.count > queries + inserts + 10 else {
                throw ValidationError("\(vectors) has \(rows.count) rows; need more than --queries + --inserts")
            }
            let queryRows = Array(rows.suffix(queries))
            rows.removeLast(queries)
            let extra = Array(rows.suffix(inserts))
            rows.removeLast(inserts)
            return DataSet(base: rows, queries: queryRows, extra: extra)
        }
        guard n > 0, queries > 0, dim > 0, clusters > 0 else {
            throw ValidationError("--n, --queries, --dim, --clusters must be positive")
        }
        var source = ClusteredVectors(dimension: dim, clusters: clusters, noise: 0.05, seed: 42)
        return DataSet(base: source.make(n), queries: source.make(queries), extra: source.make(inserts))
    }

    private func writeDataFiles(_ data: DataSet, truth: [[SearchResult]], to work: URL) throws
        -> (base: URL, queries: URL, truth: URL)
    {
        let base = work.appendingPathComponent("base.f32")
        let queryFile = work.appendingPathComponent("queries.f32")
        let truthFile = work.appendingPathComponent("truth.i32")
        try writeRows(data.base, to: base)
        try writeRows(data.queries, to: queryFile)
        var ids = Data()
        for row in truth {
            for hit in row { withUnsafeBytes(of: Int32(hit.label).littleEndian) { ids.append(contentsOf: $0) } }
        }
        try ids.write(to: truthFile)
        return (base, queryFile, truthFile)
    }

    // MARK: - Measurements

    private func measureQueries(_ index: HNSWIndex, queries: [[Float]], truth: [[SearchResult]], ef: Int) throws
        -> (recall: Double, qps: Double)
    {
        var found: [[SearchResult]] = []
        var best = Double.infinity
        for _ in 0..<max(repeats, 1) {
            var pass: [[SearchResult]] = []
            pass.reserveCapacity(queries.count)
            let elapsed = try seconds {
                for query in queries { pass.append(try index.search(query, k: 10, ef: ef)) }
            }
            best = min(best, elapsed)
            found = pass
        }
        var hits = 0
        for (result, exact) in zip(found, truth) {
            let expected = Set(exact.map(\.label))
            hits += result.filter { expected.contains($0.label) }.count
        }
        return (Double(hits) / Double(queries.count * 10), Double(queries.count) / best)
    }

    private func measurePersistence(_ index: HNSWIndex, extra: [[Float]], work: URL) throws
        -> (save: Double, reopen: Double, insertP50: Double, insertP99: Double)
    {
        let path = work.appendingPathComponent("index.sqlite").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        progress("routershift: saving to SQLite")
        let save = try seconds {
            let database = try DatabasePool(path: path, configuration: configuration)
            _ = try PersistentHNSWIndex.save(index, to: database, name: "bench")
            try database.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
        progress("routershift: reopening")
        var reopened: PersistentHNSWIndex?
        let reopen = try seconds {
            let database = try DatabasePool(path: path, configuration: configuration)
            reopened = try PersistentHNSWIndex(
                database: database, name: "bench", dimension: index.dimension, parameters: index.parameters)
        }
        guard let reopened, reopened.count == index.count else { throw BenchmarkError("reopened index lost vectors") }
        var latencies: [Double] = []
        for (offset, vector) in extra.enumerated() {
            latencies.append(try seconds { try reopened.insert(vector, label: Int64(10_000_000 + offset)) } * 1000)
        }
        return (save, reopen, percentile(latencies, 0.5), percentile(latencies, 0.99))
    }

    /// Graph walk against exact scan at several selectivities, to place the index's exact-search cutoff.
    private func measureFiltered(_ index: HNSWIndex, queries: [[Float]]) throws -> [ResultRow] {
        let sample = Array(queries.prefix(200))
        var rows: [ResultRow] = []
        for percent in [50, 20, 10, 5, 2, 1] {
            let walk = SearchFilter(expectedMatches: index.count) { $0 % 100 < Int64(percent) }
            var walked: [[SearchResult]] = []
            var exact: [[SearchResult]] = []
            let walkSeconds = try seconds {
                walked = try sample.map { try index.search($0, k: 10, ef: 64, filter: walk) }
            }
            let exactSeconds = try seconds { exact = try sample.map { try index.exactSearch($0, k: 10, filter: walk) } }
            var hits = 0
            for (result, truth) in zip(walked, exact) {
                hits += Set(result.map(\.label)).intersection(truth.map(\.label)).count
            }
            rows.append(
                ResultRow([
                    ("engine", .string("routershift")), ("filter_percent", .int(percent)),
                    ("walk_qps", .double(Double(sample.count) / walkSeconds, digits: 0)),
                    ("walk_recall_at_10", .double(Double(hits) / Double(sample.count * 10), digits: 3)),
                    ("exact_qps", .double(Double(sample.count) / exactSeconds, digits: 0)),
                ]))
        }
        return rows
    }

    // MARK: - Report

    private func printReport(_ rows: [ResultRow], efList: [Int], n: Int, dimension: Int) {
        let ours = rows.filter { $0["engine"]?.text == "routershift" }
        let peer = rows.filter { $0["engine"]?.text == "hnswlib" }
        let ourSummary = ours.first { $0["build_s"] != nil }
        let peerSummary = peer.first { $0["build_s"] != nil }
        print("HNSW index: \(n) x \(dimension), M=\(m), efConstruction=\(efConstruction), one thread")
        print(machineDescription())
        printTable(
            title: "Build and persistence",
            columns: ["figure", "routershift", "hnswlib", "ratio"],
            rows: [
                "build_s", "bytes_per_vector", "rss_bytes_per_vector", "save_s", "reopen_s", "insert_ms_p50",
                "insert_ms_p99",
            ].map { name in
                [
                    name, ourSummary?[name]?.text ?? "-", peerSummary?[name]?.text ?? "-",
                    ratio(ourSummary?.number(name), peerSummary?.number(name)),
                ]
            })
        let efRows = efList.map { ef -> [String] in
            let mine = ours.first { $0.number("ef") == Double(ef) }
            let theirs = peer.first { $0.number("ef") == Double(ef) }
            return [
                String(ef), mine?["recall_at_10"]?.text ?? "-", theirs?["recall_at_10"]?.text ?? "-",
                mine?["qps"]?.text ?? "-", theirs?["qps"]?.text ?? "-",
                ratio(mine?.number("qps"), theirs?.number("qps")),
            ]
        }
        printTable(
            title: "Search, k=10, single queries on one thread",
            columns: ["ef", "recall rs", "recall hnswlib", "q/s rs", "q/s hnswlib", "q/s ratio"], rows: efRows)
        let best = { (rows: [ResultRow]) in
            rows.filter { ($0.number("recall_at_10") ?? 0) >= 0.95 }.compactMap { $0.number("qps") }.max()
        }
        print(
            "\nAt recall@10 >= 0.95: routershift \(best(ours).map { String(format: "%.0f", $0) } ?? "-") q/s, "
                + "hnswlib \(best(peer).map { String(format: "%.0f", $0) } ?? "-") q/s, ratio \(ratio(best(ours), best(peer)))"
        )
        let filteredRows = ours.filter { $0["filter_percent"] != nil }
        if !filteredRows.isEmpty {
            printTable(
                title: "Filtered search, k=10, ef=64",
                columns: ["admitted %", "walk q/s", "walk recall", "exact q/s"],
                rows: filteredRows.map { row in
                    ["filter_percent", "walk_qps", "walk_recall_at_10", "exact_qps"].map { row[$0]?.text ?? "-" }
                })
        }
    }
}
