import CoreMetrics
import Prometheus
import Synchronization

/// The gateway's metrics, recorded through swift-metrics into a Prometheus registry of the gateway's own
/// (two gateways in one process, as in tests, keep separate counts) and served at GET /metrics.
///
/// Labels are bounded by the configuration (routes, model groups, deployments, statuses), never by
/// keys or prompts.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// The configured model groups; a request for any other model is labelled `unknown`, so clients cannot
    /// grow the label set. A configuration reload adds the groups it brings.
    private let models: Mutex<Set<String>>

    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        .seconds(60),
    ]
    /// SQLite transactions take well under the request latencies' smallest bucket.
    static let databaseWriteBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .seconds(1),
    ]
    static let similarityBuckets = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96, 0.98, 0.99, 1.0]

    init(models: Set<String>) {
        self.models = Mutex(models)
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        factory.valueHistogramBuckets["routershift_cache_similarity"] = Self.similarityBuckets
        factory.durationHistogramBuckets["routershift_database_write_duration_seconds"] = Self.databaseWriteBuckets
        self.factory = factory
    }

    /// Labels requests for `models` by name from now on (groups a reload added); names seen before stay.
    func admit(models: Set<String>) {
        self.models.withLock { $0.formUnion(models) }
    }

    /// Counts one finished request.
    func record(_ record: RequestRecord) {
        let deployment = record.deployment ?? "none"
        let modelName = models.withLock { $0.contains(record.model) } ? record.model : "unknown"
        let request = [
            ("route", record.endpoint), ("model", modelName), ("deployment", deployment),
            ("status", String(record.status)),
        ]
        Counter(label: "routershift_requests_total", dimensions: request, factory: factory).increment()
        Timer(label: "routershift_request_duration_seconds", dimensions: request, factory: factory)
            .recordNanoseconds(Int64(record.latencyMilliseconds * 1_000_000))
        if let ttft = record.timeToFirstTokenMilliseconds {
            Timer(
                label: "routershift_time_to_first_token_seconds",
                dimensions: [("route", record.endpoint), ("model", modelName), ("deployment", deployment)],
                factory: factory
            ).recordNanoseconds(Int64(ttft * 1_000_000))
        }
        let model = [("model", modelName)]
        let servedFromCache = record.cacheResult == "hit" || record.cacheResult == "semantic-hit"
        // Tokens the providers were paid for; a cache hit's go to the saved figures.
        for (direction, tokens) in [("input", record.inputTokens), ("output", record.outputTokens)]
        where tokens > 0 && !servedFromCache {
            Counter(
                label: "routershift_tokens_total", dimensions: model + [("direction", direction)], factory: factory
            ).increment(by: tokens)
        }
        if record.cost > 0 {
            FloatingPointCounter(label: "routershift_cost_dollars_total", dimensions: model, factory: factory)
                .increment(by: record.cost)
        }
        if let result = record.cacheResult {
            Counter(
                label: "routershift_cache_requests_total", dimensions: model + [("result", result)], factory: factory
            ).increment()
            if record.costSaved > 0 {
                FloatingPointCounter(
                    label: "routershift_cache_saved_dollars_total", dimensions: model, factory: factory
                ).increment(by: record.costSaved)
            }
        }
        if let similarity = record.cacheSimilarity {
            Recorder(label: "routershift_cache_similarity", dimensions: model, factory: factory).record(similarity)
        }
        if let scope = Self.rateLimitScope(record.errorType) {
            Counter(
                label: "routershift_rate_limit_rejections_total", dimensions: model + [("scope", scope)],
                factory: factory
            ).increment()
        }
    }

    /// Counts one failed upstream attempt (retried or not).
    func upstreamFailure(deployment: String, kind: String) {
        Counter(
            label: "routershift_upstream_errors_total", dimensions: [("deployment", deployment), ("kind", kind)],
            factory: factory
        ).increment()
    }

    /// "key" for a virtual key's own limits, "deployment" when every deployment is at its provider quota.
    static func rateLimitScope(_ errorType: String?) -> String? {
        switch errorType {
        case "requests_per_minute_exceeded", "tokens_per_minute_exceeded", "concurrency_limit_exceeded": "key"
        case "deployment_rate_limited": "deployment"
        case "budget_exceeded": "budget"
        default: nil
        }
    }
}
