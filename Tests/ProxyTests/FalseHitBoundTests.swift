import Foundation
import Testing

@testable import Proxy

/// The Clopper-Pearson bounds against scipy.stats.beta.ppf, and the fixed-sequence choice of an operating
/// point built on them.
@Suite struct FalseHitBoundTests {
    /// (events, trials, confidence, upper, lower), from scipy 1.17.1: beta.ppf(c, k + 1, n - k) and
    /// beta.ppf(1 - c, k, n - k + 1).
    static let reference: [(Int, Int, Double, Double, Double)] = [
        (0, 100, 0.95, 0.029513049607039925, 0),
        (5, 100, 0.95, 0.1022533776432745, 0.019905563662171843),
        (37, 761, 0.95, 0.06346865621065251, 0.03646462550018422),
        (380, 7607, 0.95, 0.05425781531422931, 0.04590808746674486),
        (1, 10, 0.9, 0.33684772330672474, 0.010480741793785605),
        (12, 40, 0.99, 0.49448400464169023, 0.1465521826309844),
    ]

    @Test(arguments: reference)
    func boundsMatchTheBetaQuantiles(events: Int, trials: Int, confidence: Double, upper: Double, lower: Double) {
        #expect(abs(ClopperPearson.upperBound(events: events, trials: trials, confidence: confidence) - upper) < 1e-9)
        #expect(abs(ClopperPearson.lowerBound(events: events, trials: trials, confidence: confidence) - lower) < 1e-9)
    }

    @Test func incompleteBetaMatchesTheBetaDistribution() {
        // scipy.stats.beta.cdf(0.3, 2.5, 7.0) and beta.cdf(0.9, 50, 3).
        #expect(abs(IncompleteBeta.regularized(0.3, a: 2.5, b: 7) - 0.6412224629717214) < 1e-12)
        #expect(abs(IncompleteBeta.regularized(0.9, a: 50, b: 3) - 0.09663328513725222) < 1e-12)
    }

    @Test func everyTrialAnEventBoundsAtOne() {
        #expect(ClopperPearson.upperBound(events: 10, trials: 10, confidence: 0.95) == 1)
        // With n events in n trials the lower bound is (1 - c)^(1/n).
        #expect(abs(ClopperPearson.lowerBound(events: 10, trials: 10, confidence: 0.95) - pow(0.05, 0.1)) < 1e-9)
    }

    static func point(_ threshold: Double, falseHits: Int, negatives: Int = 1000) -> ThresholdPoint {
        ThresholdPoint(
            threshold: threshold, precision: 1, recall: threshold, f1: 1,
            falseHitRate: Double(falseHits) / Double(negatives), falseHits: falseHits, negatives: negatives)
    }

    @Test func theLastPassingPointBeforeTheFirstFailureIsRecommended() {
        // Bounds at 1000 negatives, 95%: 30 false hits -> 0.0406, 40 -> 0.0518, 44 -> 0.0564.
        let points = [
            Self.point(0.5, falseHits: 30), Self.point(0.9, falseHits: 2), Self.point(0.7, falseHits: 44),
            Self.point(0.8, falseHits: 10), Self.point(0.6, falseHits: 40),
        ]
        let test = FixedSequenceTest(points: points, maxFalseHitRate: 0.05, confidence: 0.95)
        #expect(test.steps.map(\.point.threshold) == [0.9, 0.8, 0.7], "strictest first, stopping at the first failure")
        #expect(test.steps.map(\.passed) == [true, true, false])
        #expect(test.recommended?.point.threshold == 0.8)
        // 0.5 would pass on its own, but testing stopped at 0.7: that is what keeps the error rate.
        #expect(ClopperPearson.upperBound(events: 30, trials: 1000, confidence: 0.95) < 0.05)
        #expect(
            abs(test.steps[2].upperBound - ClopperPearson.upperBound(events: 44, trials: 1000, confidence: 0.95)) == 0)
    }

    @Test func anEstimateUnderTheMaximumIsNotEnough() {
        // 45 of 1000 is 4.5%, but its 95% bound is 5.8%: no point is recommended.
        let test = FixedSequenceTest(
            points: [Self.point(0.9, falseHits: 45)], maxFalseHitRate: 0.05, confidence: 0.95)
        #expect(test.recommended == nil)
        #expect(test.steps.count == 1 && test.steps[0].upperBound > 0.05)
    }

    /// Pairs drawn with a known false-hit rate at each threshold: the recommended point's true rate exceeds
    /// the maximum in at most 5% of the draws although 20 thresholds are tried.
    @Test func theProcedureKeepsItsErrorRateOverManyDraws() {
        var generator = SeededRandom(seed: 11)
        let thresholds = (0..<20).map { 0.99 - Double($0) * 0.01 }
        let trueRates = thresholds.indices.map { 0.01 + 0.003 * Double($0) }  // 0.01 ... 0.067
        var violations = 0
        let draws = 400
        for _ in 0..<draws {
            let points = zip(thresholds, trueRates).map { threshold, rate in
                let hits = (0..<800).filter { _ in Double.random(in: 0..<1, using: &generator) < rate }.count
                return Self.point(threshold, falseHits: hits, negatives: 800)
            }
            let test = FixedSequenceTest(points: points, maxFalseHitRate: 0.05, confidence: 0.95)
            if let chosen = test.recommended, trueRates[thresholds.firstIndex(of: chosen.point.threshold)!] > 0.05 {
                violations += 1
            }
        }
        #expect(Double(violations) / Double(draws) <= 0.05)
    }
}
