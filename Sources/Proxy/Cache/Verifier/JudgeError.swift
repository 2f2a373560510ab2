import Foundation

/// What an audit's judge gets wrong: the share of wrong hits it calls right (`missed`) and of right hits it
/// calls wrong (`falseAlarm`), each a range it is known to lie in. A judge that disagrees with a share `q` of
/// the answers it compares then implies a wrong-hit share `w = (q - falseAlarm) / (1 - missed - falseAlarm)`;
/// ``wrongHitShares(_:)`` maps a range of `q` to the widest range of `w` its ranges allow. Measured by the
/// replay (`cache bench --replay-pairs --judge embedder`, against the cluster label), stated in
/// `cache.audit.judge_error`.
public struct JudgeError: Sendable, Equatable {
    public let missed: ClosedRange<Double>
    public let falseAlarm: ClosedRange<Double>

    public init(missed: ClosedRange<Double>, falseAlarm: ClosedRange<Double>) {
        self.missed = missed
        self.falseAlarm = falseAlarm
    }

    /// The error rates counted on labelled judgements, each as its two-sided Clopper-Pearson interval at
    /// `confidence`.
    public init(missed: Int, ofWrong wrong: Int, falseAlarms: Int, ofRight right: Int, confidence: Double) {
        let tail = 1 - (1 - confidence) / 2
        self.missed =
            ClopperPearson.lowerBound(
                events: missed, trials: wrong, confidence: tail)...ClopperPearson.upperBound(
                events: missed, trials: wrong, confidence: tail)
        self.falseAlarm =
            ClopperPearson.lowerBound(
                events: falseAlarms, trials: right, confidence: tail)...ClopperPearson.upperBound(
                events: falseAlarms, trials: right, confidence: tail)
    }

    /// The wrong-hit shares a range of disagreement shares allows: the upper end with the most misses and the
    /// fewest false alarms, the lower end the other way round. All of [0, 1] where the judge may be no better
    /// than chance (`missed + falseAlarm` up to 1).
    public func wrongHitShares(_ disagreements: ClosedRange<Double>) -> ClosedRange<Double> {
        let upperScale = 1 - missed.upperBound - falseAlarm.lowerBound
        let lowerScale = 1 - missed.lowerBound - falseAlarm.upperBound
        guard upperScale > 0, lowerScale > 0 else { return 0...1 }
        let high = (disagreements.upperBound - falseAlarm.lowerBound) / upperScale
        let low = (disagreements.lowerBound - falseAlarm.upperBound) / lowerScale
        let clampedHigh = min(1, max(0, high))
        return min(clampedHigh, max(0, low))...clampedHigh
    }

    /// The wrong-hit share one disagreement share implies, at the middle of each range.
    public func wrongHitShare(_ disagreement: Double) -> Double {
        let missed = (self.missed.lowerBound + self.missed.upperBound) / 2
        let falseAlarm = (self.falseAlarm.lowerBound + self.falseAlarm.upperBound) / 2
        guard missed + falseAlarm < 1 else { return disagreement }
        return min(1, max(0, (disagreement - falseAlarm) / (1 - missed - falseAlarm)))
    }
}
