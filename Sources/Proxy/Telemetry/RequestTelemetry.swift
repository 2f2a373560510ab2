import Logging

/// Where every finished request's record goes: the request log (batched), the budgets' spend, the
/// Prometheus metrics and one log line (no keys, no content).
struct RequestTelemetry: RequestRecorder {
    let log: RequestLogWriter
    let spend: SpendLedger
    let metrics: GatewayMetrics
    let logger: Logger

    func record(_ record: RequestRecord) {
        record.trace?.annotate(with: record)
        log.append(record)
        spend.record(record)
        metrics.record(record)
        logger.info(
            "request",
            metadata: [
                "endpoint": "\(record.endpoint)", "model": "\(record.model)", "status": "\(record.status)",
                "latency_ms": "\(Int(record.latencyMilliseconds))", "deployment": "\(record.deployment ?? "-")",
                "key": "\(record.keyID)", "cache": "\(record.cacheResult ?? "-")",
                "tokens": "\(record.inputTokens + record.outputTokens)",
            ])
    }
}
