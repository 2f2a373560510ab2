import Embedding
import Foundation
import Protocols
import Yams

/// Reads `routershift.yaml`: parses the YAML, resolves `env:` references, checks every value and the
/// references between sections, and reports all problems at once with their place in the file.
public enum ConfigurationLoader {
    /// - Parameter secretsOptional: an `env:` reference to an unset variable reads as absent rather than a
    ///   problem, for commands that only need the database and must not require provider keys.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        secretsOptional: Bool = false
    ) throws -> GatewayConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                file: path,
                problems: [ConfigurationProblem(path: "", line: nil, column: nil, message: "cannot read the file")])
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(text, file: path, environment: environment, secretsOptional: secretsOptional)
            .resolvingPaths(against: folder)
    }

    public static func parse(
        _ text: String, file: String = "routershift.yaml", environment: [String: String] = [:],
        secretsOptional: Bool = false
    ) throws -> GatewayConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError(file: file, problems: [yamlProblem(error)])
        }
        let reader = YAMLReader(environment: environment, secretsOptional: secretsOptional)
        let configuration = read(root, reader: reader)
        guard reader.problems.isEmpty else { throw ConfigurationError(file: file, problems: reader.problems) }
        return configuration
    }

    /// Seconds in a duration as the configuration writes them: `250ms`, `30s`, `5m`, `2h`, `7d`, or a number.
    public static func parseDuration(_ text: String) -> Double? { YAMLReader.parseDuration(text) }

    private static func yamlProblem(_ error: YamlError) -> ConfigurationProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ConfigurationProblem(
                path: "", line: mark.line, column: mark.column, message: "invalid YAML: \(problem)")
        default:
            return ConfigurationProblem(path: "", line: nil, column: nil, message: "invalid YAML: \(error)")
        }
    }

    // MARK: - Sections

    private static func read(_ root: Node?, reader: YAMLReader) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        let top = reader.mapping(
            root, path: "",
            allowed: [
                "server", "database", "providers", "models", "routing", "cache", "pricing", "logging", "teams",
                "telemetry",
            ])
        readServer(top["server"], into: &configuration.server, reader: reader)
        let database = reader.mapping(top["database"], path: "database", allowed: ["path"])
        if let path = reader.string(database["path"], path: "database.path") { configuration.databasePath = path }
        configuration.providers = readProviders(top["providers"], reader: reader)
        configuration.models = readModels(top["models"], providers: configuration.providers, reader: reader)
        readRouting(top["routing"], into: &configuration.routing, reader: reader)
        readCache(top["cache"], into: &configuration.cache, models: configuration.models, reader: reader)
        readPricing(top["pricing"], into: &configuration.pricing, reader: reader)
        let logging = reader.mapping(top["logging"], path: "logging", allowed: ["level", "retention", "max_rows"])
        if let level = reader.string(logging["level"], path: "logging.level") {
            if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) {
                configuration.logging.level = level
            } else {
                reader.problem(
                    "logging.level", logging["level"], "must be trace, debug, info, notice, warning, error or critical")
            }
        }
        if let retention = reader.seconds(logging["retention"], path: "logging.retention") {
            configuration.logging.retention = retention
        }
        if let rows = reader.int(logging["max_rows"], path: "logging.max_rows", range: 1...Int.max) {
            configuration.logging.maxRows = rows
        }
        configuration.teams = readTeams(top["teams"], reader: reader)
        readTelemetry(top["telemetry"], into: &configuration.telemetry, reader: reader)
        return configuration
    }

    private static func readTeams(_ node: Node?, reader: YAMLReader) -> [GatewayConfiguration.Team] {
        var teams: [GatewayConfiguration.Team] = []
        for (index, item) in reader.sequence(node, path: "teams").enumerated() {
            let path = "teams[\(index)]"
            let fields = reader.mapping(item, path: path, allowed: ["name", "budget", "budget_period"])
            guard let name = reader.requiredString(fields["name"], path: "\(path).name", parent: item) else { continue }
            if teams.contains(where: { $0.name == name }) {
                reader.problem("\(path).name", fields["name"], "team `\(name)` is defined twice")
            }
            guard let budget = reader.double(fields["budget"], path: "\(path).budget", range: 0...1e12) else {
                if fields["budget"] == nil { reader.problem("\(path).budget", item, "is required") }
                continue
            }
            var period = BudgetPeriod.month
            if let name = reader.string(fields["budget_period"], path: "\(path).budget_period") {
                guard let parsed = BudgetPeriod(rawValue: name) else {
                    reader.problem(
                        "\(path).budget_period", fields["budget_period"], "must be day, week, month or total")
                    continue
                }
                period = parsed
            }
            teams.append(GatewayConfiguration.Team(name: name, budget: budget, budgetPeriod: period))
        }
        return teams
    }

    private static func readServer(_ node: Node?, into server: inout GatewayConfiguration.Server, reader: YAMLReader) {
        let fields = reader.mapping(
            node, path: "server",
            allowed: [
                "host", "port", "master_key", "max_body_bytes", "batch_concurrency", "max_batch_items", "async_workers",
                "async_max_attempts", "async_retention", "tls", "admin", "request_header_timeout", "idle_timeout",
                "request_body_timeout", "write_timeout", "max_connections", "max_request_header_bytes",
            ])
        if let host = reader.string(fields["host"], path: "server.host") { server.host = host }
        if let port = reader.int(fields["port"], path: "server.port", range: 0...65535) { server.port = port }
        server.masterKey = reader.secret(fields["master_key"], path: "server.master_key")
        if let key = server.masterKey, key.count < 8 {
            reader.problem("server.master_key", fields["master_key"], "must be at least 8 characters")
        }
        if let limit = reader.int(fields["max_body_bytes"], path: "server.max_body_bytes", range: 1024...Int(Int32.max))
        {
            server.maxBodyBytes = limit
        }
        if let value = reader.int(fields["batch_concurrency"], path: "server.batch_concurrency", range: 1...256) {
            server.batchConcurrency = value
        }
        if let value = reader.int(fields["max_batch_items"], path: "server.max_batch_items", range: 1...100_000) {
            server.maxBatchItems = value
        }
        if let value = reader.int(fields["async_workers"], path: "server.async_workers", range: 1...256) {
            server.asyncWorkers = value
        }
        if let value = reader.int(fields["async_max_attempts"], path: "server.async_max_attempts", range: 1...100) {
            server.asyncMaxAttempts = value
        }
        if let value = reader.seconds(fields["async_retention"], path: "server.async_retention") {
            server.asyncRetention = value
        }
        let timeouts: [(String, WritableKeyPath<GatewayConfiguration.Server, Double>)] = [
            ("request_header_timeout", \.requestHeaderTimeout), ("idle_timeout", \.idleTimeout),
            ("request_body_timeout", \.requestBodyTimeout), ("write_timeout", \.writeTimeout),
        ]
        for (name, keyPath) in timeouts {
            if let value = reader.seconds(fields[name], path: "server.\(name)") {
                if value > 0 && value <= 604_800 {
                    server[keyPath: keyPath] = value
                } else {
                    reader.problem("server.\(name)", fields[name], "must be more than 0s and at most 7d")
                }
            }
        }
        if let value = reader.int(fields["max_connections"], path: "server.max_connections", range: 1...1_000_000) {
            server.maxConnections = value
        }
        if let value = reader.int(
            fields["max_request_header_bytes"], path: "server.max_request_header_bytes", range: 1024...(1 << 20))
        {
            server.maxRequestHeaderBytes = value
        }
        server.tls = readTLS(fields["tls"], path: "server.tls", reader: reader)
        server.admin = readAdminListener(fields["admin"], server: server, reader: reader)
    }

    private static func readProviders(_ node: Node?, reader: YAMLReader) -> [GatewayConfiguration.Provider] {
        var providers: [GatewayConfiguration.Provider] = []
        for (index, item) in reader.sequence(node, path: "providers").enumerated() {
            let path = "providers[\(index)]"
            let fields = reader.mapping(
                item, path: path,
                allowed: [
                    "name", "kind", "base_url", "api_key", "timeout", "connect_timeout", "headers", "tls", "responses",
                ])
            guard let name = reader.requiredString(fields["name"], path: "\(path).name", parent: item),
                let kindName = reader.requiredString(fields["kind"], path: "\(path).kind", parent: item),
                let baseURL = reader.requiredString(fields["base_url"], path: "\(path).base_url", parent: item)
            else { continue }
            if providers.contains(where: { $0.name == name }) {
                reader.problem("\(path).name", fields["name"], "provider `\(name)` is defined twice")
            }
            guard let kind = GatewayConfiguration.ProviderKind(rawValue: kindName) else {
                reader.problem("\(path).kind", fields["kind"], "must be openai, anthropic or gemini, not `\(kindName)`")
                continue
            }
            guard let url = URL(string: baseURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                reader.problem("\(path).base_url", fields["base_url"], "must be an http or https URL")
                continue
            }
            var provider = GatewayConfiguration.Provider(
                name: name, kind: kind, baseURL: baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL)
            provider.apiKey = reader.secret(fields["api_key"], path: "\(path).api_key")
            if let timeout = reader.seconds(fields["timeout"], path: "\(path).timeout") { provider.timeout = timeout }
            if let timeout = reader.seconds(fields["connect_timeout"], path: "\(path).connect_timeout") {
                provider.connectTimeout = timeout
            }
            if let headers = fields["headers"]?.mapping {
                for (key, value) in headers {
                    if let key = key.string, let value = reader.secret(value, path: "\(path).headers.\(key)") {
                        provider.headers[key] = value
                    }
                }
            }
            provider.tls = readUpstreamTLS(fields["tls"], path: "\(path).tls", baseURL: baseURL, reader: reader)
            switch reader.string(fields["responses"], path: "\(path).responses") {
            case nil, "translate": break
            case "native" where kind == .openAI: provider.servesResponses = true
            case "native":
                reader.problem(
                    "\(path).responses", fields["responses"], "only openai providers serve the Responses API")
            case let value?:
                reader.problem("\(path).responses", fields["responses"], "must be native or translate, not `\(value)`")
            }
            providers.append(provider)
        }
        return providers
    }

    private static func readModels(
        _ node: Node?, providers: [GatewayConfiguration.Provider], reader: YAMLReader
    ) -> [GatewayConfiguration.ModelGroup] {
        var groups: [GatewayConfiguration.ModelGroup] = []
        var fallbackNodes: [(path: String, node: Node, name: String)] = []
        let items = reader.sequence(node, path: "models")
        for (index, item) in items.enumerated() {
            let path = "models[\(index)]"
            let fields = reader.mapping(
                item, path: path,
                allowed: [
                    "name", "strategy", "deployments", "fallbacks", "cache_threshold", "cache", "endpoints",
                    "translation",
                ])
            guard let name = reader.requiredString(fields["name"], path: "\(path).name", parent: item) else { continue }
            if groups.contains(where: { $0.name == name }) {
                reader.problem("\(path).name", fields["name"], "model `\(name)` is defined twice")
            }
            var group = GatewayConfiguration.ModelGroup(name: name, deployments: [])
            if let strategyName = reader.string(fields["strategy"], path: "\(path).strategy") {
                if let strategy = GatewayConfiguration.Strategy(rawValue: strategyName) {
                    group.strategy = strategy
                } else {
                    let names = GatewayConfiguration.Strategy.allCases.map(\.rawValue).joined(separator: ", ")
                    reader.problem(
                        "\(path).strategy", fields["strategy"], "must be one of \(names), not `\(strategyName)`")
                }
            }
            var deploymentNames: Set<String> = []
            let deploymentItems = reader.sequence(fields["deployments"], path: "\(path).deployments")
            if deploymentItems.isEmpty { reader.problem("\(path).deployments", item, "needs at least one deployment") }
            for (position, deploymentNode) in deploymentItems.enumerated() {
                let deploymentPath = "\(path).deployments[\(position)]"
                guard
                    let deployment = readDeployment(
                        deploymentNode, path: deploymentPath, priority: position, providers: providers, reader: reader)
                else { continue }
                if !deploymentNames.insert(deployment.name).inserted {
                    reader.problem(
                        deploymentPath, deploymentNode,
                        "deployment name `\(deployment.name)` is used twice in `\(name)`; give one a `name`")
                }
                group.deployments.append(deployment)
            }
            for (position, fallback) in reader.sequence(fields["fallbacks"], path: "\(path).fallbacks").enumerated() {
                if let fallbackName = reader.string(fallback, path: "\(path).fallbacks[\(position)]") {
                    group.fallbacks.append(fallbackName)
                    fallbackNodes.append(("\(path).fallbacks[\(position)]", fallback, fallbackName))
                }
            }
            group.cacheThreshold = reader.double(
                fields["cache_threshold"], path: "\(path).cache_threshold", range: 0...1)
            if let enabled = reader.bool(fields["cache"], path: "\(path).cache") { group.cacheEnabled = enabled }
            if let endpointNodes = fields["endpoints"] {
                group.endpoints = readEndpoints(endpointNodes, path: "\(path).endpoints", reader: reader)
            }
            group.unsupportedParameters = readTranslation(
                fields["translation"], path: "\(path).translation", reader: reader)
            groups.append(group)
        }
        for fallback in fallbackNodes where !groups.contains(where: { $0.name == fallback.name }) {
            reader.problem(fallback.path, fallback.node, "no model named `\(fallback.name)` is configured")
        }
        return groups
    }

    /// `translation: { unsupported: refuse | drop }`.
    private static func readTranslation(_ node: Node?, path: String, reader: YAMLReader) -> Translation.Policy? {
        let fields = reader.mapping(node, path: path, allowed: ["unsupported"])
        guard let name = reader.string(fields["unsupported"], path: "\(path).unsupported") else { return nil }
        guard let policy = Translation.Policy(rawValue: name) else {
            let names = Translation.Policy.allCases.map(\.rawValue).joined(separator: ", ")
            reader.problem("\(path).unsupported", fields["unsupported"], "must be one of \(names), not `\(name)`")
            return nil
        }
        return policy
    }

    private static func readEndpoints(_ node: Node, path: String, reader: YAMLReader)
        -> Set<GatewayConfiguration.Endpoint>
    {
        var endpoints: Set<GatewayConfiguration.Endpoint> = []
        for (position, item) in reader.sequence(node, path: path).enumerated() {
            guard let name = reader.string(item, path: "\(path)[\(position)]") else { continue }
            if let endpoint = GatewayConfiguration.Endpoint(rawValue: name) {
                endpoints.insert(endpoint)
            } else {
                let names = GatewayConfiguration.Endpoint.allCases.map(\.rawValue).joined(separator: ", ")
                reader.problem("\(path)[\(position)]", item, "must be one of \(names), not `\(name)`")
            }
        }
        if endpoints.isEmpty { reader.problem(path, node, "needs at least one endpoint") }
        return endpoints
    }

    private static func readDeployment(
        _ node: Node, path: String, priority: Int, providers: [GatewayConfiguration.Provider], reader: YAMLReader
    ) -> GatewayConfiguration.Deployment? {
        let fields = reader.mapping(
            node, path: path,
            allowed: ["name", "provider", "model", "weight", "rpm", "tpm", "priority", "input_price", "output_price"])
        guard let provider = reader.requiredString(fields["provider"], path: "\(path).provider", parent: node),
            let model = reader.requiredString(fields["model"], path: "\(path).model", parent: node)
        else { return nil }
        if !providers.contains(where: { $0.name == provider }) {
            reader.problem("\(path).provider", fields["provider"], "no provider named `\(provider)` is configured")
        }
        var deployment = GatewayConfiguration.Deployment(
            name: reader.string(fields["name"], path: "\(path).name") ?? "\(provider)/\(model)", provider: provider,
            model: model,
            priority: reader.int(fields["priority"], path: "\(path).priority") ?? priority)
        if let weight = reader.double(fields["weight"], path: "\(path).weight", range: 0...1_000_000) {
            deployment.weight = weight
        }
        deployment.rpm = reader.int(fields["rpm"], path: "\(path).rpm", range: 1...Int(Int32.max))
        deployment.tpm = reader.int(fields["tpm"], path: "\(path).tpm", range: 1...Int.max)
        deployment.inputPrice = reader.double(fields["input_price"], path: "\(path).input_price", range: 0...1_000_000)
        deployment.outputPrice = reader.double(
            fields["output_price"], path: "\(path).output_price", range: 0...1_000_000)
        return deployment
    }

    private static func readRouting(_ node: Node?, into routing: inout GatewayConfiguration.Routing, reader: YAMLReader)
    {
        let fields = reader.mapping(
            node, path: "routing",
            allowed: [
                "retries", "backoff", "max_backoff", "deadline", "latency_exploration", "breaker",
                "max_stream_event_bytes", "max_response_bytes", "max_stream_capture_bytes", "translation",
            ])
        if let policy = readTranslation(fields["translation"], path: "routing.translation", reader: reader) {
            routing.unsupportedParameters = policy
        }
        if let retries = reader.int(fields["retries"], path: "routing.retries", range: 0...20) {
            routing.retries = retries
        }
        if let base = reader.seconds(fields["backoff"], path: "routing.backoff") { routing.backoffBase = base }
        if let limit = reader.seconds(fields["max_backoff"], path: "routing.max_backoff") { routing.backoffMax = limit }
        if let deadline = reader.seconds(fields["deadline"], path: "routing.deadline") { routing.deadline = deadline }
        if let share = reader.double(fields["latency_exploration"], path: "routing.latency_exploration", range: 0...1) {
            routing.latencyExploration = share
        }
        let byteLimits: [(String, WritableKeyPath<GatewayConfiguration.Routing, Int>)] = [
            ("max_stream_event_bytes", \.maxStreamEventBytes), ("max_response_bytes", \.maxResponseBytes),
            ("max_stream_capture_bytes", \.maxStreamCaptureBytes),
        ]
        for (name, keyPath) in byteLimits {
            if let limit = reader.int(fields[name], path: "routing.\(name)", range: 1024...Int(Int32.max)) {
                routing[keyPath: keyPath] = limit
            }
        }
        let breaker = reader.mapping(
            fields["breaker"], path: "routing.breaker",
            allowed: ["consecutive_failures", "error_rate", "window", "minimum_requests", "cooldown"])
        if let count = reader.int(
            breaker["consecutive_failures"], path: "routing.breaker.consecutive_failures", range: 1...1000)
        {
            routing.breaker.consecutiveFailures = count
        }
        if let rate = reader.double(breaker["error_rate"], path: "routing.breaker.error_rate", range: 0...1) {
            routing.breaker.errorRate = rate
        }
        if let window = reader.seconds(breaker["window"], path: "routing.breaker.window") {
            routing.breaker.window = window
        }
        if let minimum = reader.int(
            breaker["minimum_requests"], path: "routing.breaker.minimum_requests", range: 1...100_000)
        {
            routing.breaker.minimumRequests = minimum
        }
        if let cooldown = reader.seconds(breaker["cooldown"], path: "routing.breaker.cooldown") {
            routing.breaker.cooldown = cooldown
        }
    }

    private static func readCache(
        _ node: Node?, into cache: inout GatewayConfiguration.Cache, models: [GatewayConfiguration.ModelGroup],
        reader: YAMLReader
    ) {
        let fields = reader.mapping(
            node, path: "cache",
            allowed: [
                "enabled", "threshold", "scope", "ttl", "max_entries", "semantic", "embed_turns", "max_turns",
                "max_temperature", "ef_search", "embedder", "verifier", "max_wrong_hit_rate", "audit",
            ])
        if let rate = reader.double(fields["max_wrong_hit_rate"], path: "cache.max_wrong_hit_rate", range: 0...1) {
            cache.maxWrongHitRate = rate
        }
        if let node = fields["audit"] {
            let audit = reader.mapping(
                node, path: "cache.audit",
                allowed: ["rate", "near_miss_rate", "agreement", "max_cost_per_day", "judge", "judge_error"])
            var settings = GatewayConfiguration.Audit()
            if let judge = reader.string(audit["judge"], path: "cache.audit.judge") {
                if models.contains(where: { $0.name == judge }) {
                    settings.judge = judge
                } else {
                    reader.problem("cache.audit.judge", audit["judge"], "names no model group (`\(judge)`)")
                }
            }
            if let rate = reader.double(audit["rate"], path: "cache.audit.rate", range: 0...1) { settings.rate = rate }
            settings.nearMissRate = reader.double(
                audit["near_miss_rate"], path: "cache.audit.near_miss_rate", range: 0...1)
            if let agreement = reader.double(audit["agreement"], path: "cache.audit.agreement", range: 0...1) {
                settings.agreement = agreement
            }
            settings.maxCostPerDay = reader.double(
                audit["max_cost_per_day"], path: "cache.audit.max_cost_per_day",
                range: 0...Double.greatestFiniteMagnitude)
            if let node = audit["judge_error"] {
                let error = reader.mapping(node, path: "cache.audit.judge_error", allowed: ["missed", "false_alarm"])
                let missed = reader.double(error["missed"], path: "cache.audit.judge_error.missed", range: 0...1) ?? 0
                let falseAlarm =
                    reader.double(error["false_alarm"], path: "cache.audit.judge_error.false_alarm", range: 0...1) ?? 0
                if missed + falseAlarm < 1 {
                    settings.judgeError = .init(missed: missed, falseAlarm: falseAlarm)
                } else {
                    reader.problem(
                        "cache.audit.judge_error", node,
                        "a judge whose missed and false_alarm add up to 1 or more is no better than chance")
                }
            }
            cache.audit = settings
        }
        if let enabled = reader.bool(fields["enabled"], path: "cache.enabled") { cache.enabled = enabled }
        if let threshold = reader.double(fields["threshold"], path: "cache.threshold", range: 0...1) {
            cache.threshold = threshold
        }
        if let scopeName = reader.string(fields["scope"], path: "cache.scope") {
            if let scope = GatewayConfiguration.CacheScope(rawValue: scopeName) {
                cache.scope = scope
            } else {
                reader.problem("cache.scope", fields["scope"], "must be key, team or global")
            }
        }
        if let ttl = reader.seconds(fields["ttl"], path: "cache.ttl") { cache.ttl = ttl }
        if let maximum = reader.int(fields["max_entries"], path: "cache.max_entries", range: 1...Int.max) {
            cache.maxEntries = maximum
        }
        if let semantic = reader.bool(fields["semantic"], path: "cache.semantic") { cache.semantic = semantic }
        if let turns = reader.int(fields["embed_turns"], path: "cache.embed_turns", range: 1...64) {
            cache.embedTurns = turns
        }
        if let turns = reader.int(fields["max_turns"], path: "cache.max_turns", range: 1...10_000) {
            cache.maxTurns = turns
        }
        if let temperature = reader.double(fields["max_temperature"], path: "cache.max_temperature", range: 0...2) {
            cache.maxTemperature = temperature
        }
        if let ef = reader.int(fields["ef_search"], path: "cache.ef_search", range: 8...4096) { cache.efSearch = ef }
        if let embedderNode = fields["embedder"] {
            let embedder = reader.mapping(
                embedderNode, path: "cache.embedder",
                allowed: ["kind", "model_dir", "threads", "precision", "base_url", "model", "api_key", "dimension"])
            switch reader.string(embedder["kind"], path: "cache.embedder.kind") ?? "local" {
            case "local":
                let precisionName = reader.string(embedder["precision"], path: "cache.embedder.precision") ?? "auto"
                let precision = EmbeddingPrecision(rawValue: precisionName)
                if precision == nil {
                    reader.problem("cache.embedder.precision", embedder["precision"], "must be auto, int8 or fp32")
                }
                cache.embedder = .local(
                    modelDirectory: reader.string(embedder["model_dir"], path: "cache.embedder.model_dir")
                        ?? DataHome.modelDirectory(),
                    threads: reader.int(embedder["threads"], path: "cache.embedder.threads", range: 1...64)
                        ?? GatewayConfiguration.defaultEmbedderThreads, precision: precision ?? .auto)
            case "remote":
                let baseURL = reader.requiredString(
                    embedder["base_url"], path: "cache.embedder.base_url", parent: embedderNode)
                let model = reader.requiredString(embedder["model"], path: "cache.embedder.model", parent: embedderNode)
                let dimension = reader.int(embedder["dimension"], path: "cache.embedder.dimension", range: 1...65536)
                if dimension == nil {
                    reader.problem("cache.embedder.dimension", embedderNode, "is required for a remote embedder")
                }
                if let baseURL, let model, let dimension {
                    cache.embedder = .remote(
                        baseURL: baseURL, model: model,
                        apiKey: reader.secret(embedder["api_key"], path: "cache.embedder.api_key"),
                        dimension: dimension)
                }
            default:
                reader.problem("cache.embedder.kind", embedder["kind"], "must be local or remote")
            }
        }
        let verifier = reader.mapping(
            fields["verifier"], path: "cache.verifier",
            allowed: ["enabled", "file", "threshold", "candidate_threshold"])
        if let enabled = reader.bool(verifier["enabled"], path: "cache.verifier.enabled") {
            cache.verifier.enabled = enabled
        }
        if let file = reader.string(verifier["file"], path: "cache.verifier.file") { cache.verifier.file = file }
        cache.verifier.threshold = reader.double(verifier["threshold"], path: "cache.verifier.threshold", range: 0...1)
        if let floor = reader.double(
            verifier["candidate_threshold"], path: "cache.verifier.candidate_threshold", range: 0...1)
        {
            cache.verifier.candidateThreshold = floor
        }
    }

    private static func readPricing(_ node: Node?, into pricing: inout GatewayConfiguration.Pricing, reader: YAMLReader)
    {
        let fields = reader.mapping(node, path: "pricing", allowed: ["file", "models"])
        if let file = reader.string(fields["file"], path: "pricing.file") { pricing.file = file }
        guard let models = fields["models"] else { return }
        guard let mapping = models.mapping else {
            reader.problem("pricing.models", models, "must be a mapping of model names to prices")
            return
        }
        for (key, value) in mapping {
            guard let model = key.string else { continue }
            let path = "pricing.models.\(model)"
            let price = reader.mapping(value, path: path, allowed: ["input", "output", "cached_input"])
            guard let input = reader.double(price["input"], path: "\(path).input", range: 0...1_000_000),
                let output = reader.double(price["output"], path: "\(path).output", range: 0...1_000_000)
            else {
                if price["input"] == nil || price["output"] == nil {
                    reader.problem(path, value, "needs input and output prices")
                }
                continue
            }
            pricing.overrides[model] = ModelPrice(
                input: input, output: output,
                cachedInput: reader.double(price["cached_input"], path: "\(path).cached_input", range: 0...1_000_000))
        }
    }
}
