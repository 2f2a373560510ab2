import AsyncHTTPClient
import BenchmarkSupport
import Foundation

/// The cache at scale (`routershift-bench cache --entries 10000,100000,1000000`): real prompts stored
/// through the gateway, then synthetic entries imported beside them up to each size (the index benchmark's
/// clustered vectors, each with a real entry's request, answer and token states, so an entry weighs what a
/// real one does), and at each size the database's size, the gateway's reopen time with a warm and a cold
/// page cache, its resident memory, and hit latency for prompts of about 32, 128 and 256 tokens.
struct CacheScaleBenchmark {
    let binary: String
    let prompts: CachePrompts
    let count: Int
    let threshold: Double
    let modelPath: String
    let directory: URL
    let sizes: [Int]
    /// Whether to measure the cache an earlier run left in ``directory`` as it is, instead of building it.
    let remeasure: Bool
    /// The cache's `ef_search`; nil for the gateway's default.
    let efSearch: Int?

    /// Synthetic lines imported per `routershift cache import` run, which reads its whole file at once.
    static let importChunk = 50_000

    /// The prompts each size is measured with: about 32 tokens, and the long ones by their length.
    private struct Workload {
        let short: [CachePrompt]
        let long: [(tokens: Int, pairs: [CachePrompt])]
        var all: [CachePrompt] { short + long.flatMap(\.pairs) }
    }

    private var database: String { directory.appendingPathComponent("gateway.sqlite").path }

    private var cache: String {
        """
        { enabled: true, threshold: \(threshold), scope: global, max_entries: 100000000, ttl: 30d,
          \(efSearch.map { "ef_search: \($0)," } ?? "") embedder: { kind: local, model_dir: \(modelPath) } }
        """
    }

    func run(client: HTTPClient) async throws -> [ResultRow] {
        let workload = Workload(
            short: prompts.nearest(tokens: 32, count: count),
            long: [128, 256].map { (tokens: $0, pairs: prompts.joined(reaching: $0, count: 20)) })
        let (mock, upstream) = try startMockUpstream(binary: binary)
        defer { mock.stop() }
        let start = {
            try await BenchGateway.start(
                binary: binary, upstream: upstream, cache: cache, cores: nil, client: client, database: database,
                timeout: 600)
        }
        if remeasure {
            guard FileManager.default.fileExists(atPath: database) else {
                throw BenchmarkError("--remeasure: no cache in \(directory.path); build one with --entries first")
            }
            progress("reading \(directory.path) into the page cache")
            Self.readThrough(database, database + ".index-cache")
            return [
                try await measure(entries: nil, start: start, client: client) {
                    try await hitFigures(workload, $0, client)
                }
            ]
        }
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        var rows: [ResultRow] = []
        // The gateway's start with nothing cached: what the model and the process cost before any entry.
        let empty = try await start()
        var baseline = ResultRow([("entries", .int(0)), ("start_s", .double(empty.startSeconds, digits: 3))])
        progress("storing \(workload.all.count) real prompts")
        for prompt in workload.all {
            _ = try await CachePrompts.ask(empty.base, prompt.origin, client: client)
        }
        let template = try await SyntheticEntries(
            exportFrom: empty.base, client: client, near: workload.short[0].origin)
        baseline.set("bytes_per_entry", .double(Self.databaseBytes(database) / Double(workload.all.count), digits: 0))
        empty.stop()
        rows.append(baseline)

        var entries = workload.all.count
        var synthetic = template
        for size in sizes where size > entries {
            try await importEntries(size - entries, from: &synthetic, upstream: upstream)
            entries = size
            rows.append(
                try await measure(entries: size, start: start, client: client) {
                    try await hitFigures(workload, $0, client)
                })
        }
        return rows
    }

    /// Hit latencies at the gateway at `base`: semantic hits of each length, then exact hits.
    private func hitFigures(_ workload: Workload, _ base: String, _ client: HTTPClient) async throws
        -> [(String, [Double], Int)]
    {
        var figures: [(String, [Double], Int)] = []
        for (name, pairs) in [("32", workload.short)] + workload.long.map({ (String($0.tokens), $0.pairs) }) {
            let semantic = try await Self.hits(pairs.map(\.paraphrase), "semantic-hit", base, client)
            figures.append(("semantic_\(name)", semantic, pairs.count))
        }
        let exact = try await Self.hits(workload.short.map(\.origin), "hit", base, client)
        figures.append(("exact_32", exact, workload.short.count))
        return figures
    }

    /// Imports `count` more synthetic entries with `routershift cache import`, in chunks.
    private func importEntries(
        _ count: Int, from synthetic: inout SyntheticEntries, upstream: String
    ) async throws {
        let config = try BenchGateway.writeConfiguration(
            port: try freePort(), upstream: upstream, cache: cache, database: database, extra: "")
        defer { try? FileManager.default.removeItem(at: config) }
        let file = directory.appendingPathComponent("synthetic.jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        var remaining = count
        while remaining > 0 {
            let chunk = min(remaining, Self.importChunk)
            progress("importing \(chunk) synthetic entries (\(count - remaining + chunk) of \(count))")
            try synthetic.write(chunk, to: file)
            let importer = Process()
            importer.executableURL = URL(fileURLWithPath: binary)
            importer.arguments = ["cache", "import", "-c", config.path, file.path]
            importer.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) {
                _, fixed in fixed
            }
            importer.standardOutput = FileHandle.nullDevice
            try importer.run()
            importer.waitUntilExit()
            guard importer.terminationStatus == 0 else {
                throw BenchmarkError("routershift cache import exited with status \(importer.terminationStatus)")
            }
            remaining -= chunk
        }
    }

    /// The figures at one size (`entries`, or the count the gateway reports): the database, a warm and a
    /// cold reopen, the hits `hits` measures.
    private func measure(
        entries: Int?, start: () async throws -> BenchGateway, client: HTTPClient,
        hits: (String) async throws -> [(String, [Double], Int)]
    ) async throws -> ResultRow {
        // The first start after the import finds the file in the page cache (the import just wrote it).
        let warm = try await start()
        let counted: Int
        if let entries { counted = entries } else { counted = try await Self.entryCount(warm.base, client: client) }
        var row = ResultRow([("entries", .int(counted))])
        if let efSearch { row.set("ef_search", .int(efSearch)) }
        row.set("database_bytes", .int(Int(Self.databaseBytes(database))))
        row.set("bytes_per_entry", .double(Self.databaseBytes(database) / Double(counted), digits: 0))
        row.set("start_warm_s", .double(warm.startSeconds, digits: 3))
        warm.stop()
        let dropped = Self.dropPageCache(database)
        let cold = try await start()
        defer { cold.stop() }
        row.set("start_cold_s", .double(cold.startSeconds, digits: 3))
        row.set("cold_by", .string(dropped))
        progress("\(counted) entries: reopened in \(warm.startSeconds) s warm, \(cold.startSeconds) s cold")
        for (name, latencies, asked) in try await hits(cold.base) {
            row.set("\(name)_hits", .string("\(latencies.count)/\(asked)"))
            row.set("\(name)_ms_p50", .double(percentile(latencies, 0.5), digits: 2))
            row.set("\(name)_ms_p99", .double(percentile(latencies, 0.99), digits: 2))
        }
        row.set("rss_mb", .double(cold.process.residentMegabytes, digits: 0))
        return row
    }

    /// Asks each of `texts` once; the latencies of those answered with `outcome`.
    private static func hits(_ texts: [String], _ outcome: String, _ base: String, _ client: HTTPClient) async throws
        -> [Double]
    {
        var latencies: [Double] = []
        for text in texts {
            // A miss is not stored, so measuring leaves the cache as it was (`--remeasure` measures it again).
            let answer = try await CachePrompts.ask(base, text, storing: false, client: client)
            if answer.outcome == outcome { latencies.append(answer.milliseconds) }
        }
        return latencies
    }

    /// The entries the gateway at `base` reports (`GET /admin/cache/stats`).
    private static func entryCount(_ base: String, client: HTTPClient) async throws -> Int {
        var request = HTTPClientRequest(url: base + "/admin/cache/stats")
        request.headers.add(name: "Authorization", value: "Bearer sk-bench-master-key")
        let body = try await client.execute(request, timeout: .seconds(600)).body.collect(upTo: 1 << 20)
        guard
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let entries = object["entries"] as? Int
        else { throw BenchmarkError("GET /admin/cache/stats: no entry count in the answer") }
        return entries
    }

    /// Reads `paths` through once, so that they are in the page cache as after the import that wrote them.
    private static func readThrough(_ paths: String...) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for path in paths {
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else { continue }
            while read(descriptor, &buffer, buffer.count) > 0 {}
            close(descriptor)
        }
    }

    static func databaseBytes(_ path: String) -> Double {
        ["", "-wal"].reduce(0) { total, suffix in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0
            return total + Double(size ?? 0)
        }
    }

    /// Empties the page cache of the database's files, or the whole page cache where this process may
    /// (root); says which.
    static func dropPageCache(_ database: String) -> String {
        sync()
        if let handle = FileHandle(forWritingAtPath: "/proc/sys/vm/drop_caches") {
            defer { try? handle.close() }
            if (try? handle.write(contentsOf: Data("3\n".utf8))) != nil { return "drop_caches" }
        }
        for suffix in ["", "-wal"] {
            let descriptor = open(database + suffix, O_RDONLY)
            guard descriptor >= 0 else { continue }
            posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
            close(descriptor)
        }
        return "fadvise"
    }
}

/// Export lines of synthetic entries: a real exported entry with its prompt replaced by a numbered
/// synthetic one (so each has its own exact key) and its vector by a clustered one, keeping its request's
/// form, its answer and its token states.
struct SyntheticEntries {
    /// The exported line without its vector, split where its prompt was.
    private let pieces: [String]
    private var vectors: ClusteredVectors
    private var next = 0

    /// From the export of the gateway at `base`: the entry whose prompt is `near`.
    init(exportFrom base: String, client: HTTPClient, near prompt: String) async throws {
        var request = HTTPClientRequest(url: base + "/admin/cache/export?vectors=true")
        request.headers.add(name: "Authorization", value: "Bearer sk-bench-master-key")
        let body = try await client.execute(request, timeout: .seconds(60)).body.collect(upTo: 1 << 28)
        let lines = String(decoding: body.readableBytesView, as: UTF8.self).split(separator: "\n")
        guard
            let line = lines.first(where: { $0.contains(Self.escaped(prompt)) }),
            var object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let vector = object["vector"] as? [Any], object["token_states"] is String
        else {
            throw BenchmarkError("the export has no entry for the template prompt with a vector and token states")
        }
        object["vector"] = nil
        object["expires_at"] = Date().timeIntervalSince1970 + 30 * 86400
        let text = String(
            decoding: try JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
            as: UTF8.self)
        pieces = text.dropLast().components(separatedBy: Self.escaped(prompt))
        vectors = ClusteredVectors(dimension: vector.count, clusters: 100)
    }

    /// `text` as it appears inside a JSON string.
    private static func escaped(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        return String(String(decoding: data, as: UTF8.self).dropFirst(2).dropLast(2))
    }

    /// Writes the next `count` entries to `file`, one line each.
    mutating func write(_ count: Int, to file: URL) throws {
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        var buffer = ""
        for _ in 0..<count {
            let (vector, cluster) = vectors.next()
            let prompt =
                "Synthetic question \(next) of topic \(cluster): how would a careful engineer explain item "
                + "\(next % 9973) of the catalogue to a new colleague in plain words?"
            next += 1
            buffer += pieces.joined(separator: prompt)
            buffer += ",\"vector\":["
            buffer += vector.map { String($0) }.joined(separator: ",")
            buffer += "]}\n"
            if buffer.utf8.count > 1 << 22 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        try handle.write(contentsOf: Data(buffer.utf8))
    }
}
