import Foundation

/// What the audits of one model group have shown, and the operating point they keep: an anytime-valid
/// confidence sequence for the group's wrong-hit share, checked after every audit. While its upper bound
/// exceeds the maximum the point tightens, once it is below it relaxes back, in steps of ``step`` at most
/// every ``auditsPerStep`` audits and never more than ``maxStrictness`` above the configured point. The live
/// auditor and `routershift cache bench --replay` run the same controller.
public struct AuditedOperatingPoint: Sendable, Equatable {
    public static let alpha = 0.05
    public static let step = 0.01
    public static let maxStrictness = 0.1
    public static let auditsPerStep = 5

    public private(set) var sequence = BernoulliConfidenceSequence(alpha: Self.alpha)
    public private(set) var disagreements = 0
    /// Added to the group's cosine floor and verifier threshold.
    public private(set) var strictness = 0.0
    private var auditsSinceStep = 0

    public init() {}

    /// A move of the operating point: its strictness before and after, and the upper bound that moved it.
    public struct Move: Sendable, Equatable {
        public let from: Double
        public let to: Double
        public let upperBound: Double
    }

    /// Records one audit; returns the move it caused, if any.
    public mutating func observe(wrong: Bool, maxWrongHitRate: Double) -> Move? {
        sequence.observe(wrong)
        if wrong { disagreements += 1 }
        auditsSinceStep += 1
        guard auditsSinceStep >= Self.auditsPerStep else { return nil }
        auditsSinceStep = 0
        let upper = sequence.interval.upperBound
        let before = strictness
        strictness =
            upper > maxWrongHitRate ? min(Self.maxStrictness, strictness + Self.step) : max(0, strictness - Self.step)
        // Steps of 0.01 accumulate rounding; keep the strictness on the grid.
        strictness = (strictness / Self.step).rounded() * Self.step
        return strictness == before ? nil : Move(from: before, to: strictness, upperBound: upper)
    }
}
