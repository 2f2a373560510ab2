import Canonical
import Embedding
import Foundation
import Logging
import RouterShiftConfiguration
import Synchronization

/// Live measurement of wrong hits (`cache.audit`): a share of semantic hits is also answered upstream in the
/// background (the client already has the cached answer), and a judge compares the two: the local
/// embedder's cosine of the answers, against `cache.audit.agreement`, or a judge model group. Each audit is a
/// labelled pair and an observation of the model group's wrong-hit share, whose anytime-valid confidence
/// sequence is checked at every audit. While its upper bound exceeds `cache.max_wrong_hit_rate` the group's
/// operating point tightens, and it relaxes once the bound is below, in bounded steps. An entry judged wrong
/// stops serving semantic hits. Near-misses are audited too (`cache.audit.near_miss_rate`): the fresh answer
/// of a miss judged against the cached answer of its best candidate, which lets the point loosen where the
/// cache is too strict. The controller is ``AuditedOperatingPoint``, saved in the database after every audit
/// so a restart keeps it.
final class CacheAuditor: Sendable {
    /// Audits running at once; a hit beyond them is not audited.
    static let maxInFlight = 4

    private let groups: Mutex<[String: AuditedOperatingPoint]>
    private let spentToday = Mutex<(day: Int, dollars: Double)>((0, 0))
    private let inFlight = Mutex(0)
    private let store: GatewayStore
    private let logger: Logger

    /// Reads each group's controller as the last run left it.
    init(store: GatewayStore, logger: Logger) throws {
        self.store = store
        self.logger = logger
        groups = Mutex(try store.auditGroups())
    }

    /// What the group's operating point is tightened by (below zero: loosened).
    func strictness(for model: String) -> Double { groups.withLock { $0[model]?.strictness ?? 0 } }

    /// Whether to audit a semantic hit now: sampled at `settings.rate`; never a request whose repetition is not
    /// harmless (with tools, whose calls may have effects; or asking the provider to store the completion,
    /// `store: true`), past the day's spend cap, or beyond the audits in flight (a request that refuses
    /// audits, `x-routershift-cache-audit: off`, never gets here). Claims an in-flight place when it answers
    /// true.
    func claim(_ request: ChatRequest, settings: GatewayConfiguration.Audit, now: Double) -> Bool {
        guard request.tools?.isEmpty ?? true, request.extra["store"] != .bool(true) else { return false }
        return claim(rate: settings.rate, settings: settings, now: now)
    }

    /// Whether to audit a near-miss now, sampled at `settings.nearMissRate` (the hits' rate by default), on
    /// the terms of ``claim(_:settings:now:)`` but for repetition: a near-miss audit sends the request nowhere
    /// again (only an LLM judge is asked, about the two answers).
    func claimNearMiss(_ request: ChatRequest, settings: GatewayConfiguration.Audit, now: Double) -> Bool {
        claim(rate: settings.nearMissRate ?? settings.rate, settings: settings, now: now)
    }

    private func claim(rate: Double, settings: GatewayConfiguration.Audit, now: Double) -> Bool {
        guard rate > 0, Double.random(in: 0..<1) < rate else { return false }
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

    /// The texts of the first choices of two answers, nil when either has none (a tool call, say): two empty
    /// texts would look alike to any judge, which is no evidence.
    static func comparableTexts(_ fresh: ChatResponse, _ cached: ChatResponse) -> (String, String)? {
        let texts = [fresh, cached].map { $0.choices.first?.message.text ?? "" }
        guard texts.allSatisfy({ !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) else { return nil }
        return (texts[0], texts[1])
    }

    /// Whether `fresh` and `cached` say the same: the cosine of their embeddings at or above `agreement`.
    static func agree(_ fresh: String, _ cached: String, embedder: any Embedder, agreement: Double) async throws -> Bool
    {
        let vectors = try await embedder.embed([fresh, cached])
        let cosine = zip(vectors[0], vectors[1]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        return Double(cosine) >= agreement
    }

    /// Records one audit of `model`'s group, of a hit or of a near-miss, adjusts its operating point and
    /// saves the group.
    func observe(
        model: String, wrong: Bool, nearMiss: Bool = false, settings: GatewayConfiguration.Cache, now: Double
    ) {
        let maxWrongHitRate = settings.maxWrongHitRate
        let judgeError = settings.audit?.judgeError.map(JudgeError.init(stated:))
        let (adjusted, point) = groups.withLock { groups in
            var point = groups[model, default: AuditedOperatingPoint()]
            let move =
                nearMiss
                ? point.observeNearMiss(wrong: wrong, maxWrongHitRate: maxWrongHitRate, judgeError: judgeError)
                : point.observe(wrong: wrong, maxWrongHitRate: maxWrongHitRate, judgeError: judgeError)
            groups[model] = point
            return (move, point)
        }
        do {
            try store.saveAuditGroup(model, point, now: now)
        } catch {
            logger.error("cache audit: the group's state was not saved", metadata: ["error": "\(error)"])
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

    /// Forgets every group's audits and operating point: they measured a verifier that is no longer in force.
    func reset(because reason: String) {
        groups.withLock { $0 = [:] }
        do {
            try store.deleteAuditGroups()
        } catch {
            logger.error("cache audit: the saved groups were not deleted", metadata: ["error": "\(error)"])
        }
        logger.notice("cache audit: every group starts afresh", metadata: ["reason": "\(reason)"])
    }

    /// `GET /admin/cache/audit`: per model group, the audits, disagreements, the estimate and its interval
    /// (corrected for the judge's stated error, the judge's own disagreement interval beside them), the
    /// near-misses' audits, and the operating point in force.
    func report(cache: SemanticCache, floors: [String: Double]) -> JSONValue {
        let settings = cache.settings
        let judgeError = settings.audit?.judgeError.map(JudgeError.init(stated:))
        let verifierThreshold = cache.verifier?.threshold
        let groups = groups.withLock { $0 }
        let spent = spentToday.withLock { $0.dollars }
        return [
            "max_wrong_hit_rate": .number(settings.maxWrongHitRate),
            "rate": .number(settings.audit?.rate ?? 0),
            "near_miss_rate": .number(settings.audit.map { $0.nearMissRate ?? $0.rate } ?? 0),
            "judge_error": settings.audit?.judgeError.map {
                ["missed": .number($0.missed), "false_alarm": .number($0.falseAlarm)]
            } ?? .null,
            "spent_today": .number(spent),
            "groups": .array(
                groups.keys.sorted().map { model in
                    let group = groups[model]!
                    let interval = group.wrongHitInterval(judgeError: judgeError)
                    let judged = group.sequence.interval
                    let near = group.nearMisses
                    var point: [String: JSONValue] = [
                        "strictness": .number(group.strictness),
                        "similarity_floor": .number((floors[model] ?? settings.threshold) + group.strictness),
                    ]
                    point["verifier_threshold"] = verifierThreshold.map { .number($0 + group.strictness) } ?? .null
                    return [
                        "model": .string(model), "audits": .integer(Int64(group.sequence.trials)),
                        "disagreements": .integer(Int64(group.disagreements)),
                        "estimate": group.wrongHitEstimate(judgeError: judgeError).map(JSONValue.number) ?? .null,
                        "interval": [.number(interval.lowerBound), .number(interval.upperBound)],
                        "judged_interval": [.number(judged.lowerBound), .number(judged.upperBound)],
                        "operating_point": .object(point), "max_wrong_hit_rate": .number(settings.maxWrongHitRate),
                        "near_misses": [
                            "audits": .integer(Int64(near.trials)), "disagreements": .integer(Int64(near.events)),
                            "estimate": near.estimate.map(JSONValue.number) ?? .null,
                            "interval": [.number(near.interval.lowerBound), .number(near.interval.upperBound)],
                        ],
                    ]
                }),
        ]
    }
}

extension JudgeError {
    /// The error an operator stated in `cache.audit.judge_error`, taken as known exactly.
    init(stated rates: GatewayConfiguration.JudgeErrorRates) {
        self.init(missed: rates.missed...rates.missed, falseAlarm: rates.falseAlarm...rates.falseAlarm)
    }
}
