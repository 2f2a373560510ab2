import Canonical
import Embedding
import Foundation
import Logging
import RouterShiftConfiguration
import Synchronization

/// Live measurement of wrong hits (`cache.audit`): a share of semantic hits is also answered upstream in the
/// background (the client already has the cached answer), and a judge compares the two: the local
/// embedder's cosine of the answers, against `cache.audit.agreement`. Each audit is a labelled pair and an
/// observation of the model group's wrong-hit share, whose anytime-valid confidence sequence is checked at
/// every audit. While its upper bound exceeds `cache.max_wrong_hit_rate` the group's operating point tightens,
/// and it relaxes once the bound is below, in bounded steps. An
/// entry judged wrong stops serving semantic hits. The operating point's controller is
/// ``AuditedOperatingPoint``.
final class CacheAuditor: Sendable {
    /// Audits running at once; a hit beyond them is not audited.
    static let maxInFlight = 4

    private let groups = Mutex<[String: AuditedOperatingPoint]>([:])
    private let spentToday = Mutex<(day: Int, dollars: Double)>((0, 0))
    private let inFlight = Mutex(0)
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// What the group's operating point is tightened by.
    func strictness(for model: String) -> Double { groups.withLock { $0[model]?.strictness ?? 0 } }

    /// Whether to audit a semantic hit now: sampled at `settings.rate`; never a request with tools (a tool
    /// call may have effects when repeated), past the day's spend cap, or beyond the audits in flight (a
    /// request that refuses audits, `x-routershift-cache-audit: off`, never gets here). Claims an in-flight
    /// place when it answers true.
    func claim(_ request: ChatRequest, settings: GatewayConfiguration.Audit, now: Double) -> Bool {
        guard settings.rate > 0, Double.random(in: 0..<1) < settings.rate else { return false }
        guard request.tools?.isEmpty ?? true else { return false }
        if let cap = settings.maxCostPerDay {
            let day = Int(now / 86400)
            guard spentToday.withLock({ $0.day != day || $0.dollars < cap }) else { return false }
        }
        return inFlight.withLock { count in
            guard count < Self.maxInFlight else { return false }
            count += 1
            return true
        }
    }

    /// Releases the place ``claim(_:settings:now:)`` took.
    func release() { inFlight.withLock { $0 -= 1 } }

    /// Counts an audit's upstream cost against the day's cap.
    func spend(_ dollars: Double, now: Double) {
        let day = Int(now / 86400)
        spentToday.withLock { spent in
            if spent.day != day { spent = (day, 0) }
            spent.dollars += dollars
        }
    }

    /// Whether `fresh` and `cached` say the same: the cosine of their embeddings at or above `agreement`.
    static func agree(_ fresh: String, _ cached: String, embedder: any Embedder, agreement: Double) async throws -> Bool
    {
        let vectors = try await embedder.embed([fresh, cached])
        let cosine = zip(vectors[0], vectors[1]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        return Double(cosine) >= agreement
    }

    /// Records one audit of `model`'s group and adjusts its operating point.
    func observe(model: String, wrong: Bool, maxWrongHitRate: Double) {
        let adjusted = groups.withLock { groups in
            groups[model, default: AuditedOperatingPoint()].observe(wrong: wrong, maxWrongHitRate: maxWrongHitRate)
        }
        if let adjusted {
            logger.notice(
                "cache audit: operating point \(adjusted.to > adjusted.from ? "tightened" : "relaxed")",
                metadata: [
                    "model": "\(model)", "strictness": "\(adjusted.to)", "upper_bound": "\(adjusted.upperBound)",
                    "max_wrong_hit_rate": "\(maxWrongHitRate)",
                ])
        }
    }

    /// `GET /admin/cache/audit`: per model group, the audits, disagreements, the estimate and its interval, and
    /// the operating point in force.
    func report(cache: SemanticCache, floors: [String: Double]) -> JSONValue {
        let settings = cache.settings
        let verifierThreshold = cache.verifier?.threshold
        let groups = groups.withLock { $0 }
        let spent = spentToday.withLock { $0.dollars }
        return [
            "max_wrong_hit_rate": .number(settings.maxWrongHitRate),
            "rate": .number(settings.audit?.rate ?? 0), "spent_today": .number(spent),
            "groups": .array(
                groups.keys.sorted().map { model in
                    let group = groups[model]!
                    let interval = group.sequence.interval
                    var point: [String: JSONValue] = [
                        "strictness": .number(group.strictness),
                        "similarity_floor": .number((floors[model] ?? settings.threshold) + group.strictness),
                    ]
                    point["verifier_threshold"] = verifierThreshold.map { .number($0 + group.strictness) } ?? .null
                    return [
                        "model": .string(model), "audits": .integer(Int64(group.sequence.trials)),
                        "disagreements": .integer(Int64(group.disagreements)),
                        "estimate": group.sequence.estimate.map(JSONValue.number) ?? .null,
                        "interval": [.number(interval.lowerBound), .number(interval.upperBound)],
                        "operating_point": .object(point), "max_wrong_hit_rate": .number(settings.maxWrongHitRate),
                    ]
                }),
        ]
    }
}
