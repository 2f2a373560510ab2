import CoreMetrics
import Embedding
import Prometheus

/// Figures read at scrape time rather than counted as they happen.
struct ScrapeFigures {
    var deployments: [DeploymentSnapshot] = []
    /// Rows in the cache table.
    var cacheEntries: Int?
    /// Entries in the semantic index and the bytes it holds in memory.
    var indexEntries: Int?
    var indexBytes: Int?
    /// The SQLite database's size (pages times page size).
    var databaseBytes: Int?
    /// The local embedder's scheduler; nil for a remote embedder or none.
    var embedder: EncoderLoad?
    var process: ProcessMetrics?
}

extension GatewayMetrics {
    /// Every family's HELP line. swift-prometheus takes help text only through its own registry API, not
    /// through swift-metrics, so the exposition gets these lines added (``PrometheusText/addingHelp(_:help:)``).
    static let help: [String: String] = [
        "routershift_requests_total": "Requests answered, by route, model group, deployment and HTTP status.",
        "routershift_request_duration_seconds": "Time from request to the last byte of the answer, in seconds.",
        "routershift_time_to_first_token_seconds": "Time from request to the first streamed token, in seconds.",
        "routershift_tokens_total": "Tokens the providers were paid for, by model group and direction (input, output).",
        "routershift_cost_dollars_total": "Dollars spent upstream, by model group, from the price table.",
        "routershift_cache_requests_total":
            "Cache lookups by result: hit (exact), semantic-hit, miss, bypass and the like.",
        "routershift_cache_saved_dollars_total": "Dollars the cache saved: the cost of the answers it served.",
        "routershift_cache_similarity": "Cosine similarity of the best semantic candidate of each lookup.",
        "routershift_rate_limit_rejections_total": "Requests refused by a limit: key, deployment quota or budget.",
        "routershift_upstream_errors_total": "Failed upstream attempts, retried or not, by deployment and kind.",
        "routershift_breaker_state": "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open.",
        "routershift_in_flight_requests": "Requests in flight to each deployment now.",
        "routershift_cache_entries": "Entries stored in the semantic cache.",
        "routershift_cache_index_entries": "Entries in the cache's semantic (HNSW) index.",
        "routershift_cache_index_bytes": "Bytes the semantic index holds in memory (vectors and links).",
        "routershift_database_bytes": "Size of the SQLite database file in bytes.",
        "routershift_database_write_duration_seconds":
            "Time to write one batch of request-log rows in one SQLite transaction, in seconds.",
        "routershift_embedder_queue_texts": "Texts waiting for a forward pass of the local embedding model.",
        "routershift_embedder_batch_size": "Texts per forward pass of the local embedding model.",
    ]

    /// Counts one request-log write transaction.
    func databaseWrite(nanoseconds: Int64) {
        Timer(
            label: "routershift_database_write_duration_seconds", dimensions: [("writer", "request_log")],
            factory: factory
        )
        .recordNanoseconds(nanoseconds)
    }

    /// The Prometheus text exposition: what was counted, the gauges in `figures` read now, the embedder's
    /// batch-size histogram and the process metrics, every family with HELP and TYPE lines.
    func exposition(_ figures: ScrapeFigures) -> [UInt8] {
        for deployment in figures.deployments {
            let labels = [("deployment", deployment.name), ("group", deployment.group)]
            let state: Double =
                switch deployment.breaker {
                case "open": 2
                case "half-open": 1
                default: 0
                }
            Gauge(label: "routershift_breaker_state", dimensions: labels, factory: factory).record(state)
            Gauge(label: "routershift_in_flight_requests", dimensions: labels, factory: factory)
                .record(deployment.inFlight)
        }
        let gauges: [(String, Int?)] = [
            ("routershift_cache_entries", figures.cacheEntries),
            ("routershift_cache_index_entries", figures.indexEntries),
            ("routershift_cache_index_bytes", figures.indexBytes),
            ("routershift_database_bytes", figures.databaseBytes),
            ("routershift_embedder_queue_texts", figures.embedder?.waitingTexts),
        ]
        for case (let name, let value?) in gauges {
            Gauge(label: name, dimensions: [], factory: factory).record(value)
        }
        var text = PrometheusText.addingHelp(String(decoding: registry.emitToBuffer(), as: UTF8.self), help: Self.help)
        if let load = figures.embedder { text += PrometheusText.batchSizeHistogram(load, help: Self.help) }
        if let process = figures.process { text += process.exposition }
        return Array(text.utf8)
    }
}

/// Pieces of the Prometheus text format the metrics backend does not render.
enum PrometheusText {
    /// A sample value: integers without a fraction, others as Swift prints them (both valid in the format).
    static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// `text` with a `# HELP` line before each `# TYPE` line of a family that has none; families without an
    /// entry in `help` are left as they are (the metrics test fails on them).
    static func addingHelp(_ text: String, help: [String: String]) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).split(separator: " ").first.map(String.init) ?? ""
                if let description = help[name], lines.last?.hasPrefix("# HELP \(name) ") != true {
                    lines.append("# HELP \(name) \(description)")
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// `routershift_embedder_batch_size` as a Prometheus histogram (cumulative buckets, sum, count).
    static func batchSizeHistogram(_ load: EncoderLoad, help: [String: String]) -> String {
        let name = "routershift_embedder_batch_size"
        var text = "# HELP \(name) \(help[name] ?? "")\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (bound, count) in zip(EncoderLoad.batchSizeBounds, load.batchSizeCounts) {
            cumulative += count
            text += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text +=
            "\(name)_bucket{le=\"+Inf\"} \(load.batches)\n\(name)_sum \(load.batchedTexts)\n\(name)_count \(load.batches)\n"
        return text
    }
}
