/// What a configuration reload (SIGHUP, `POST /admin/config/reload`) changes while the gateway serves, and
/// what only a restart applies.
///
/// Live: providers, model groups and their deployments, strategies and fallbacks, routing (retries, backoff,
/// deadline, breaker settings, quotas), prices, teams and their budgets, the cache's thresholds, TTL, size
/// and eligibility limits, and its verifier file (read again at every reload). Restart only: the listeners
/// (`server`), the database, logging, what the cache's index was built with (enabled, semantic, scope,
/// embedded turns, embedder, whether the verifier is on), telemetry, the upstream
/// client's size limits and its connect and read timeouts.
extension GatewayConfiguration {
    /// This configuration with `new`'s live settings; everything that needs a restart stays as it is.
    public func applyingLiveSettings(of new: GatewayConfiguration) -> GatewayConfiguration {
        var merged = self
        merged.providers = new.providers
        merged.models = new.models
        merged.pricing = new.pricing
        merged.teams = new.teams
        merged.routing = new.routing
        merged.routing.maxResponseBytes = routing.maxResponseBytes
        merged.routing.maxStreamEventBytes = routing.maxStreamEventBytes
        merged.cache.threshold = new.cache.threshold
        merged.cache.ttl = new.cache.ttl
        merged.cache.maxEntries = new.cache.maxEntries
        merged.cache.maxTurns = new.cache.maxTurns
        merged.cache.maxTemperature = new.cache.maxTemperature
        merged.cache.efSearch = new.cache.efSearch
        merged.cache.verifier.threshold = new.cache.verifier.threshold
        merged.cache.verifier.candidateThreshold = new.cache.verifier.candidateThreshold
        merged.cache.verifier.file = new.cache.verifier.file
        merged.cache.maxWrongHitRate = new.cache.maxWrongHitRate
        merged.cache.audit = new.cache.audit
        return merged
    }

    /// The settings, as the file spells them, in which `new` differs from this configuration but which take
    /// effect only after a restart.
    public func restartRequired(toApply new: GatewayConfiguration) -> [String] {
        Self.restartOnlySettings.filter { $0.differs(self, new) }.map(\.name)
    }

    /// The settings, by section, in which `new` differs from this configuration and which a reload applies.
    public func liveChanges(toApply new: GatewayConfiguration) -> [String] {
        let merged = applyingLiveSettings(of: new)
        var changed: [String] = []
        if providers != merged.providers { changed.append("providers") }
        if models != merged.models { changed.append("models") }
        if routing != merged.routing { changed.append("routing") }
        if cache != merged.cache { changed.append("cache") }
        if pricing != merged.pricing { changed.append("pricing") }
        if teams != merged.teams { changed.append("teams") }
        return changed
    }

    /// The upstream client's connect and read timeouts: the longest any provider asks for (reads at least 60 s).
    public var upstreamTimeouts: (connect: Double, read: Double) {
        (providers.map(\.connectTimeout).max() ?? 10, max(providers.map(\.timeout).max() ?? 60, 60))
    }

    private struct RestartOnlySetting {
        let name: String
        let differs: (GatewayConfiguration, GatewayConfiguration) -> Bool

        init<Value: Equatable>(_ name: String, _ value: @escaping (GatewayConfiguration) -> Value) {
            self.name = name
            differs = { value($0) != value($1) }
        }
    }

    private static var restartOnlySettings: [RestartOnlySetting] {
        [
            .init("server.host", \.server.host), .init("server.port", \.server.port),
            .init("server.master_key", \.server.masterKey), .init("server.max_body_bytes", \.server.maxBodyBytes),
            .init("server.batch_concurrency", \.server.batchConcurrency),
            .init("server.max_batch_items", \.server.maxBatchItems),
            .init("server.async_workers", \.server.asyncWorkers),
            .init("server.async_max_attempts", \.server.asyncMaxAttempts),
            .init("server.async_retention", \.server.asyncRetention), .init("server.tls", \.server.tls),
            .init("server.admin", \.server.admin),
            .init("server.request_header_timeout", \.server.requestHeaderTimeout),
            .init("server.idle_timeout", \.server.idleTimeout),
            .init("server.request_body_timeout", \.server.requestBodyTimeout),
            .init("server.write_timeout", \.server.writeTimeout),
            .init("server.max_connections", \.server.maxConnections),
            .init("server.max_request_header_bytes", \.server.maxRequestHeaderBytes),
            .init("database", \.databasePath), .init("logging.level", \.logging.level),
            .init("logging.retention", \.logging.retention), .init("logging.max_rows", \.logging.maxRows),
            .init("cache.enabled", \.cache.enabled), .init("cache.semantic", \.cache.semantic),
            .init("cache.scope", \.cache.scope), .init("cache.embed_turns", \.cache.embedTurns),
            .init("cache.embedder", \.cache.embedder), .init("cache.verifier.enabled", \.cache.verifier.enabled),
            .init("telemetry", \.telemetry), .init("routing.max_response_bytes", \.routing.maxResponseBytes),
            .init("routing.max_stream_event_bytes", \.routing.maxStreamEventBytes),
            .init("providers[].connect_timeout (the longest)", \.upstreamTimeouts.connect),
            .init("providers[].timeout (the longest, at least 60 s)", \.upstreamTimeouts.read),
        ]
    }
}
