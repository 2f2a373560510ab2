import Embedding
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import RouterShiftConfiguration
import ServiceLifecycle
import Synchronization
import Tracing

/// The gateway assembled from its configuration: store, providers, routing core, limits and routes. It owns
/// the shared upstream HTTP client and shuts it down after the server stops.
public final class Gateway: Sendable {
    /// The configuration in force: the one the gateway started with, with the live settings of the last
    /// reload (``reload(to:)``).
    public var configuration: GatewayConfiguration { live.current }
    let live: LiveConfiguration
    /// Reads the configuration again for a reload; nil when the gateway was not started from a file.
    let configurationSource: ConfigurationSource?
    /// One reload at a time.
    let reloading = Mutex(())
    public let store: GatewayStore
    /// Every virtual key in memory, for authentication without a database read.
    public let keys: KeyDirectory
    public let routing: RoutingCore
    let upstream: UpstreamClient
    let admission: Admission
    let metrics: GatewayMetrics
    let telemetry: RequestTelemetry
    /// The semantic cache; nil when `cache.enabled` is false.
    public let cache: SemanticCache?
    /// Audits of semantic hits; nil without a semantic layer.
    let auditor: CacheAuditor?
    let asyncTasks: AsyncTaskRunner
    /// A chat service on the configuration in force.
    private let makeChat: @Sendable () -> ChatService
    let watcher = DisconnectWatcher()
    /// This process among the instances sharing a database: host, process id and a random part (a restarted
    /// process is another instance). It names the claims of async tasks.
    public let instance: String
    /// Every time Proxy reads or waits on; tests pass one they move by hand.
    let clock: any GatewayClock
    let logger: Logger
    /// Spans for every request and its steps, and the service exporting them; nil when traces are off.
    let tracing: (tracer: any Tracer, exporter: any Service)?
    /// What HTTPS on the server's port serves; nil for plain HTTP.
    public let certificate: ServingCertificate?
    let server: HTTPServerBuilder

    /// - Parameters:
    ///   - clock: the gateway's clock (routing, limits, budgets, cache expiry, tasks, log times); tests pass one
    ///     they move by hand.
    ///   - randomSeed: seeds routing choices, for reproducible tests.
    ///   - configurationSource: reads the configuration again on SIGHUP or `POST /admin/config/reload`.
    ///   - tracing: the tracer for request spans (`telemetry.otlp`) and the service exporting them, run and
    ///     stopped with the gateway (last, so the final spans are flushed).
    public init(
        configuration: GatewayConfiguration, logger: Logger, clock: any GatewayClock = SystemClock(),
        randomSeed: UInt64 = UInt64.random(in: 0...UInt64.max), configurationSource: ConfigurationSource? = nil,
        tracing: (tracer: any Tracer, exporter: any Service)? = nil
    ) async throws {
        self.tracing = tracing
        let live = LiveConfiguration(configuration)
        self.live = live
        self.configurationSource = configurationSource
        self.logger = logger
        self.clock = clock
        store = try GatewayStore(path: configuration.databasePath)
        let keys = try await KeyDirectory.load(from: store)
        self.keys = keys
        let certificate = try configuration.server.tls.map(ServingCertificate.init)
        self.certificate = certificate
        server = try Self.serverBuilder(
            certificate: certificate, limits: ConnectionGuard.Limits(configuration.server))
        let upstreamTLS = try Self.upstreamTLS(configuration.providers, logger: logger)
        let prices = try PriceTable(file: configuration.pricing.file, overrides: configuration.pricing.overrides)
        let timeouts = configuration.upstreamTimeouts
        let upstream = UpstreamClient(
            connectTimeout: timeouts.connect, readTimeout: timeouts.read,
            maxResponseBytes: configuration.routing.maxResponseBytes,
            maxStreamEventBytes: configuration.routing.maxStreamEventBytes, tls: upstreamTLS)
        self.upstream = upstream
        let groups = Self.modelGroups(configuration, prices: prices, client: upstream, now: clock.now())
        let metrics = GatewayMetrics(models: Set(configuration.models.map(\.name)))
        self.metrics = metrics
        let routing = RoutingCore(
            groups: groups, settings: configuration.routing, clock: clock, seed: randomSeed,
            onUpstreamFailure: metrics.upstreamFailure)
        self.routing = routing
        let spend = try SpendLedger(store: store, teams: configuration.teams, clock: clock)
        let admission = Admission(routing: routing, limiter: KeyLimiter(clock: clock), spend: spend)
        self.admission = admission
        let telemetry = RequestTelemetry(
            log: RequestLogWriter(
                store: store, settings: configuration.logging, logger: logger, clock: clock,
                onWrite: metrics.databaseWrite),
            spend: spend,
            metrics: metrics, logger: logger)
        self.telemetry = telemetry
        let cache: SemanticCache?
        let auditor: CacheAuditor?
        do {
            if configuration.cache.enabled {
                let embedder =
                    configuration.cache.semantic
                    ? try CacheEmbedder.make(
                        configuration.cache.embedder, client: upstream,
                        indexed: try SemanticCache.indexedPrecision(in: store)) : nil
                cache = try SemanticCache(
                    settings: configuration.cache, store: store, embedder: embedder, clock: clock)
            } else {
                cache = nil
            }
            auditor = cache?.embedder == nil ? nil : try CacheAuditor(store: store, logger: logger)
        } catch {
            upstream.shutdownNow()
            throw error
        }
        self.cache = cache
        self.auditor = auditor
        let makeChat: @Sendable () -> ChatService = {
            ChatService(
                routing: routing, admission: admission, cache: cache, configuration: live.current, recorder: telemetry,
                auditor: auditor)
        }
        self.makeChat = makeChat
        let execution = AsyncTaskExecution(
            chat: makeChat, keys: keys, maxAttempts: configuration.server.asyncMaxAttempts)
        let process = ProcessInfo.processInfo
        let instance = "\(process.hostName):\(process.processIdentifier):\(ChatIdentifiers.random(6))"
        self.instance = instance
        asyncTasks = AsyncTaskRunner(
            store: store, storeIsExclusive: true, owner: instance, settings: configuration.server, logger: logger,
            clock: clock, perform: execution.perform)
    }

    /// The model groups of `configuration`, each deployment with its provider's adapter and its price; with
    /// `previous` (a reload), a deployment that was there before keeps its health.
    static func modelGroups(
        _ configuration: GatewayConfiguration, prices: PriceTable, client: UpstreamClient, now: Double,
        previous: [String: ModelGroup] = [:]
    ) -> [ModelGroup] {
        var adapters: [String: any ProviderAdapter] = [:]
        for provider in configuration.providers {
            adapters[provider.name] = HTTPChatProvider(configuration: provider, client: client)
        }
        var predecessors = DeploymentPredecessors(previous)
        return configuration.models.map { group in
            ModelGroup(
                name: group.name, strategy: group.strategy,
                deployments: group.deployments.map { deployment in
                    let provider = configuration.provider(named: deployment.provider)!
                    let listed = prices.price(for: deployment.model)
                    let price =
                        deployment.inputPrice.map {
                            ModelPrice(input: $0, output: deployment.outputPrice ?? listed?.output ?? 0)
                        } ?? listed
                    return Deployment(
                        configuration: deployment, group: group.name, adapter: adapters[deployment.provider]!,
                        timeout: provider.timeout, price: price, breaker: configuration.routing.breaker, now: now,
                        previous: predecessors.claim(
                            provider: deployment.provider, model: deployment.model, group: group.name))
                },
                fallbacks: group.fallbacks, endpoints: group.endpoints)
        }
    }

    var passthrough: PassthroughService { PassthroughService(gateway: self) }

    var chat: ChatService { makeChat() }

    /// The HTTP routes of the gateway, behind error rendering and authentication; with `server.admin`, without
    /// `/admin`, `/metrics` and `/ui` (``makeAdminRouter()`` serves them).
    public func makeRouter() -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: RequestIDMiddleware())
        if let tracing { router.add(middleware: RequestTracingMiddleware(tracer: tracing.tracer)) }
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthenticationMiddleware(masterKey: configuration.server.masterKey, keys: keys))
        HealthRoutes(gateway: self).register(on: router)
        if configuration.server.admin == nil { registerAdministration(on: router) }
        registerEndpoints(on: router)
        BatchRoutes(gateway: self, items: batchItemResponder()).register(on: router)
        CacheFeedbackRoutes(gateway: self).registerFeedback(on: router)
        AsyncTaskRoutes(gateway: self).register(on: router)
        return router
    }

    private func registerEndpoints(on router: Router<GatewayContext>) {
        ChatRoutes(gateway: self).register(on: router)
        ResponsesRoutes(gateway: self).register(on: router)
        OpenAIRoutes(gateway: self).register(on: router)
        ModelListRoutes(gateway: self).register(on: router)
        TokenCountRoutes(gateway: self).register(on: router)
        AzureRoutes(gateway: self).register(on: router)
        CompletionRoutes(gateway: self).register(on: router)
        MediaRoutes(gateway: self).register(on: router)
    }

    /// The endpoints behind error rendering only: a batch item runs as its already authenticated batch.
    private func batchItemResponder() -> RouterResponder<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: ErrorMiddleware())
        registerEndpoints(on: router)
        return router.buildResponder()
    }

    /// The work the gateway does besides serving requests: the request log's writer, async tasks, the key
    /// directory's refresh, cache upkeep.
    public var backgroundServices: [any Service] {
        var services: [any Service] = [
            telemetry.log, asyncTasks, KeyDirectoryService(directory: keys, feed: store, clock: clock, logger: logger),
        ]
        if let cache { services.append(CacheMaintenanceService(cache: cache, logger: logger)) }
        return services
    }

    /// The Hummingbird application serving ``makeRouter()`` on the configured address, behind the
    /// connection limits of ``ConnectionGuard``.
    public func makeApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(
            router: makeRouter(), server: server,
            configuration: .init(
                address: .hostname(configuration.server.host, port: configuration.server.port),
                serverName: "RouterShift"),
            onServerRunning: onServerRunning, logger: logger)
    }

    /// Serves until SIGTERM or SIGINT; requests in flight finish before it returns. Then closes the upstream
    /// client.
    public func run(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws {
        let application = makeApplication(onServerRunning: onServerRunning)
        let admin: [any Service] = makeAdminApplication().map { [$0 as any Service] } ?? []
        // Stopped in reverse order: the span exporter last, once the server has ended its final spans.
        let exporter: [any Service] = tracing.map { [$0.exporter] } ?? []
        let services = (exporter + [application, hangupService] + admin + backgroundServices).map {
            ServiceGroupConfiguration.ServiceConfiguration(service: $0)
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
            // Requests that finished while the services stopped.
            try? telemetry.log.flush()
        } catch {
            try? telemetry.log.flush()
            try? await upstream.shutdown()
            throw error
        }
        try await upstream.shutdown()
    }

    /// Closes the upstream client, for a gateway built without ``run(onServerRunning:)`` (tests).
    public func shutdown() async throws {
        try await upstream.shutdown()
    }
}
