/// Chooses an operating point whose false-hit rate is at most a maximum with a stated confidence, although
/// many thresholds are tried: fixed-sequence testing. The thresholds are tested in a fixed order, from the
/// strictest towards looser ones, each at the full level against the hypothesis "its false-hit rate exceeds
/// the maximum", which a Clopper-Pearson upper bound at or under the maximum rejects; testing stops at the
/// first threshold not rejected. Because the order is fixed before the data are seen and testing stops at
/// the first failure, the chance that any accepted threshold truly exceeds the maximum is at most
/// 1 - confidence, however many thresholds are accepted.
public struct FixedSequenceTest: Sendable {
    /// One tested threshold: its figures, the bound and whether it passed.
    public struct Step: Sendable, Equatable {
        public let point: ThresholdPoint
        /// The one-sided Clopper-Pearson upper bound on the false-hit rate at the test's confidence.
        public let upperBound: Double
        public let passed: Bool
    }

    /// The thresholds tested, strictest first; the last one failed unless every threshold passed.
    public let steps: [Step]
    public let maxFalseHitRate: Double
    public let confidence: Double

    /// - Parameter points: figures at each threshold, in any order; higher thresholds are stricter.
    public init(points: [ThresholdPoint], maxFalseHitRate: Double, confidence: Double) {
        var steps: [Step] = []
        for point in points.sorted(by: { $0.threshold > $1.threshold }) {
            let bound =
                point.negatives == 0
                ? 1
                : ClopperPearson.upperBound(events: point.falseHits, trials: point.negatives, confidence: confidence)
            let passed = bound <= maxFalseHitRate
            steps.append(Step(point: point, upperBound: bound, passed: passed))
            if !passed { break }
        }
        self.steps = steps
        self.maxFalseHitRate = maxFalseHitRate
        self.confidence = confidence
    }

    /// The loosest threshold that passed, or nil when even the strictest failed.
    public var recommended: Step? { steps.last(where: \.passed) }
}
