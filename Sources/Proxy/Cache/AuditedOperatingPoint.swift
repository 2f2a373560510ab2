import Foundation

/// What the audits of one model group have shown, and the operating point they keep: an anytime-valid
/// confidence sequence for the group's wrong-hit share, checked after every audit. While its upper bound
/// exceeds the maximum the point tightens, once it is below it relaxes back, in steps of ``step`` at most
/// every ``auditsPerStep`` audits and never more than ``maxStrictness`` above the configured point.
///
/// Near-misses (the best candidate of a miss scored within ``nearMissBand`` below the point) are audited
/// too, Krites-style: their answers judged against the fresh one, a second confidence sequence for the
/// share of them that would have been wrong hits. Where both upper bounds are within the maximum, the point
/// loosens below the configured one, at most ``maxLoosening``, and it comes back once the near-misses' bound
/// is above it. The live auditor and `routershift cache bench --replay` run the same controller; the
/// gateway keeps it in its database across restarts.
public struct AuditedOperatingPoint: Sendable, Equatable, Codable {
    public static let alpha = 0.05
    public static let step = 0.01
    /// Far enough that a group whose wrong-hit share cannot be kept serves almost no semantic hits (a
    /// verifier score above 0.93 or so, a cosine floor 0.3 higher) rather than wrong ones.
    public static let maxStrictness = 0.3
    public static let maxLoosening = 0.05
    /// How far below the operating point a miss's best candidate is a near-miss, in the point's own measure
    /// (verifier score, or cosine without the verifier).
    public static let nearMissBand = 0.05
    public static let auditsPerStep = 5

    public private(set) var sequence = BernoulliConfidenceSequence(alpha: Self.alpha)
    public private(set) var disagreements = 0
    /// Audited near-misses, an event being one the judge found different.
    public private(set) var nearMisses = BernoulliConfidenceSequence(alpha: Self.alpha)
    /// Added to the group's cosine floor and verifier threshold; below zero where near-misses loosened it.
    public private(set) var strictness = 0.0
    private var auditsSinceStep = 0

    public init() {}

    /// Audits of hits and of near-misses so far.
    public var observations: Int { sequence.trials + nearMisses.trials }

    /// A move of the operating point: its strictness before and after, and the upper bound that moved it
    /// (the hits' or, for a move below the configured point, the near-misses').
    public struct Move: Sendable, Equatable {
        public let from: Double
        public let to: Double
        public let upperBound: Double
    }

    /// The wrong-hit shares still plausible: the judge's disagreements' confidence sequence, corrected for
    /// the judge's own error where it is known.
    public func wrongHitInterval(judgeError: JudgeError?) -> ClosedRange<Double> {
        judgeError?.wrongHitShares(sequence.interval) ?? sequence.interval
    }

    /// The wrong-hit share's estimate, corrected the same way; nil before any audit.
    public func wrongHitEstimate(judgeError: JudgeError?) -> Double? {
        sequence.estimate.map { judgeError?.wrongHitShare($0) ?? $0 }
    }

    /// Records one audit of a hit (`wrong`: the judge found its answer different from the fresh one);
    /// returns the move it caused, if any.
    public mutating func observe(wrong: Bool, maxWrongHitRate: Double, judgeError: JudgeError? = nil) -> Move? {
        sequence.observe(wrong)
        if wrong { disagreements += 1 }
        return stepIfDue(maxWrongHitRate: maxWrongHitRate, judgeError: judgeError)
    }

    /// Records one audit of a near-miss (`wrong`: its answer was judged different from the fresh one);
    /// returns the move it caused, if any.
    public mutating func observeNearMiss(wrong: Bool, maxWrongHitRate: Double, judgeError: JudgeError? = nil)
        -> Move?
    {
        nearMisses.observe(wrong)
        return stepIfDue(maxWrongHitRate: maxWrongHitRate, judgeError: judgeError)
    }

    private mutating func stepIfDue(maxWrongHitRate maximum: Double, judgeError: JudgeError?) -> Move? {
        auditsSinceStep += 1
        guard auditsSinceStep >= Self.auditsPerStep else { return nil }
        auditsSinceStep = 0
        let upper = wrongHitInterval(judgeError: judgeError).upperBound
        let nearUpper = (judgeError?.wrongHitShares(nearMisses.interval) ?? nearMisses.interval).upperBound
        let before = strictness
        let bound: Double
        // Without an audited hit there is no evidence on the hits either way.
        if sequence.trials == 0 {
            return nil
        } else if upper > maximum {
            (strictness, bound) = (min(Self.maxStrictness, strictness + Self.step), upper)
        } else if strictness > 0 {
            (strictness, bound) = (strictness - Self.step, upper)
        } else if nearUpper <= maximum {
            (strictness, bound) = (max(-Self.maxLoosening, strictness - Self.step), nearUpper)
        } else if strictness < 0 {
            (strictness, bound) = (strictness + Self.step, nearUpper)
        } else {
            return nil
        }
        // Steps of 0.01 accumulate rounding; keep the strictness on the grid.
        strictness = (strictness / Self.step).rounded() * Self.step
        return strictness == before ? nil : Move(from: before, to: strictness, upperBound: bound)
    }
}
