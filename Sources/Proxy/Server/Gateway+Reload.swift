import Foundation
import Logging
import NIOSSL
import RouterShiftConfiguration
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Reads the gateway's configuration again, from its file, for a reload.
public typealias ConfigurationSource = @Sendable () throws -> GatewayConfiguration

/// The configuration in force, which a reload replaces; a request reads it once and keeps what it read.
final class LiveConfiguration: Sendable {
    private let value: Mutex<GatewayConfiguration>

    init(_ configuration: GatewayConfiguration) { value = Mutex(configuration) }

    var current: GatewayConfiguration { value.withLock { $0 } }

    func replace(with configuration: GatewayConfiguration) { value.withLock { $0 = configuration } }
}

/// What a reload put in force and what it could not.
public struct ReloadReport: Sendable, Equatable {
    /// The sections whose live settings changed (`providers`, `models`, `routing`, `cache`, `pricing`, `teams`),
    /// and `verifier` when the verifier's parameters (read again from its file) changed.
    public let changed: [String]
    /// Settings that differ in the file but take effect only after a restart.
    public let restartRequired: [String]
}

/// The deployments before a reload, by provider and model: the identity under which a deployment keeps its
/// breaker, latency averages and quotas. Each is claimed at most once, by the same group first.
struct DeploymentPredecessors {
    private var byIdentity: [String: [Deployment]] = [:]

    init(_ groups: [String: ModelGroup]) {
        for deployment in groups.keys.sorted().flatMap({ groups[$0]!.deployments }) {
            byIdentity[Self.identity(deployment.providerName, deployment.model), default: []].append(deployment)
        }
    }

    mutating func claim(provider: String, model: String, group: String) -> Deployment? {
        let identity = Self.identity(provider, model)
        guard var candidates = byIdentity[identity], !candidates.isEmpty else { return nil }
        let index = candidates.firstIndex { $0.group == group } ?? 0
        let claimed = candidates.remove(at: index)
        byIdentity[identity] = candidates
        return claimed
    }

    private static func identity(_ provider: String, _ model: String) -> String { "\(provider)\u{0}\(model)" }
}

extension Gateway {
    /// Puts the live settings of `new` in force: providers, model groups, routing, prices, teams and the
    /// cache's thresholds and verifier (its file read again). Requests already running finish on what they started with, so a removed deployment
    /// drains; deployments that stay (same provider and model) keep their breaker and latency state. Nothing
    /// changes if any part of `new` cannot be put in force.
    ///
    /// - Returns: what changed, and the settings that differ but need a restart.
    /// - Throws: ``GatewayError`` (400, `reload_refused`) when a provider's `tls.ca_file`, the price file or
    ///   the verifier file cannot be read, or the verifier was fitted on other features.
    @discardableResult
    public func reload(to new: GatewayConfiguration) throws -> ReloadReport {
        try reloading.withLock { _ in
            let old = live.current
            let merged = old.applyingLiveSettings(of: new)
            let prices: PriceTable
            let tls: [String: TLSConfiguration]
            let verifier: SemanticCache.FittedVerifier?
            do {
                prices = try PriceTable(file: merged.pricing.file, overrides: merged.pricing.overrides)
                tls = try Self.upstreamTLS(merged.providers, logger: logger)
                verifier = try cache.map { try $0.loadVerifier(merged.cache) } ?? nil
            } catch let error as GatewayError {
                throw GatewayError(
                    .invalidRequest, "\(error.message); the configuration in force stays.", code: "reload_refused")
            }
            let groups = Self.modelGroups(
                merged, prices: prices, client: upstream, now: clock.now(), previous: routing.groups)
            upstream.replaceTLS(tls)
            routing.replace(groups: groups, settings: merged.routing)
            admission.spend.replace(teams: merged.teams)
            let verifierChanged = cache?.retune(merged.cache, verifier: verifier) ?? false
            if verifierChanged { auditor?.reset(because: "the verifier changed") }
            metrics.admit(models: Set(merged.models.map(\.name)))
            live.replace(with: merged)
            let report = ReloadReport(
                changed: old.liveChanges(toApply: new) + (verifierChanged ? ["verifier"] : []),
                restartRequired: old.restartRequired(toApply: new))
            logger.notice(
                "configuration reloaded",
                metadata: [
                    "changed": "\(report.changed.joined(separator: ","))",
                    "restart_required": "\(report.restartRequired.joined(separator: ","))",
                ])
            return report
        }
    }

    /// Reads the configuration file again and reloads it.
    ///
    /// - Throws: ``ConfigurationError`` with every problem of the file (the configuration in force stays),
    ///   ``GatewayError`` when the gateway has no file to read or a file it names cannot be read.
    public func reloadFromSource() throws -> ReloadReport {
        guard let configurationSource else {
            throw GatewayError(
                .conflict, "This gateway was not started from a configuration file, so it has none to reload.",
                code: "reload_unavailable")
        }
        return try reload(to: try configurationSource())
    }

    /// SIGHUP reloads the configuration file and the serving certificate.
    var hangupService: HangupService { HangupService(gateway: self) }
}

/// On every SIGHUP until the gateway stops: the configuration file again (when the gateway has one), then
/// the serving certificate (with `server.tls`). A failure is logged and leaves what is in force.
struct HangupService: Service {
    let gateway: Gateway

    func run() async throws {
        let logger = gateway.logger
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            if gateway.configurationSource != nil {
                do {
                    _ = try gateway.reloadFromSource()
                } catch let error as ConfigurationError {
                    logger.error(
                        "configuration reload refused; the configuration in force stays",
                        metadata: ["problems": "\(error.description)"])
                } catch {
                    logger.error(
                        "configuration reload failed; the configuration in force stays",
                        metadata: ["error": "\(error)"])
                }
            }
            if let certificate = gateway.certificate {
                do {
                    try certificate.reload()
                    logger.notice("TLS certificate reloaded", metadata: ["serial": "\(certificate.serialNumber)"])
                } catch {
                    logger.error(
                        "TLS certificate reload failed; the previous one stays in force",
                        metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
