import Foundation
import Testing

@testable import Proxy

/// The anytime-valid confidence sequence: it covers the true mean at every look at once with at least the
/// nominal probability, where a fixed-sample interval recomputed at every look does not.
@Suite struct ConfidenceSequenceTests {
    /// Streams of `looks` outcomes with mean `rate`: the share of streams whose interval ever misses the
    /// mean. `makeCheck` gives, per stream, a function that takes each outcome and says whether the interval
    /// at that look covers the mean.
    static func everMissed(
        rate: Double, streams: Int, looks: Int, seed: UInt64, makeCheck: () -> (Bool) -> Bool
    ) -> Double {
        var generator = SeededRandom(seed: seed)
        var missed = 0
        for _ in 0..<streams {
            let covers = makeCheck()
            for _ in 1...looks where !covers(Double.random(in: 0..<1, using: &generator) < rate) {
                missed += 1
                break
            }
        }
        return Double(missed) / Double(streams)
    }

    @Test(arguments: [0.02, 0.05, 0.3])
    func coverageHoldsAtEveryLook(rate: Double) {
        let missed = Self.everMissed(rate: rate, streams: 2000, looks: 1000, seed: 7) {
            var sequence = BernoulliConfidenceSequence(alpha: 0.05)
            return { event in
                sequence.observe(event)
                return sequence.contains(rate)
            }
        }
        #expect(missed <= 0.05, "ever-miss rate \(missed) above alpha at mean \(rate)")
    }

    @Test func aFixedSampleIntervalRecomputedAtEveryLookMissesTooOften() {
        // The same check against a 95% Clopper-Pearson interval recomputed at every look: the check has teeth.
        let missed = Self.everMissed(rate: 0.3, streams: 300, looks: 500, seed: 7) {
            var (events, trials) = (0, 0)
            return { event in
                trials += 1
                if event { events += 1 }
                let low = ClopperPearson.lowerBound(events: events, trials: trials, confidence: 0.975)
                let high = ClopperPearson.upperBound(events: events, trials: trials, confidence: 0.975)
                return (low...high).contains(0.3)
            }
        }
        #expect(missed > 0.1)
    }

    @Test func theIntervalIsTheSetOfPlausibleMeans() throws {
        var generator = SeededRandom(seed: 5)
        var sequence = BernoulliConfidenceSequence(alpha: 0.05)
        #expect(sequence.interval == 0...1 && sequence.estimate == nil)
        var widths: [Double] = []
        for look in 1...400 {
            sequence.observe(Double.random(in: 0..<1, using: &generator) < 0.1)
            guard look % 50 == 0 else { continue }
            let interval = sequence.interval
            let estimate = try #require(sequence.estimate)
            widths.append(interval.upperBound - interval.lowerBound)
            #expect(interval.contains(estimate))
            #expect(sequence.contains(interval.lowerBound) && sequence.contains(interval.upperBound))
            #expect(!sequence.contains(interval.upperBound + 1e-6))
            #expect(interval.lowerBound == 0 || !sequence.contains(interval.lowerBound - 1e-6))
        }
        // Wider than the fixed-sample interval (the price of looking at will), and narrowing with evidence.
        let final = sequence.interval
        let fixedHigh = ClopperPearson.upperBound(events: sequence.events, trials: sequence.trials, confidence: 0.975)
        #expect(final.upperBound > fixedHigh)
        #expect(widths.last! < widths.first! && widths.last! < 0.13, "\(widths)")
    }

    @Test func noEventKeepsZeroInsideAndAllEventsKeepOne() {
        var none = BernoulliConfidenceSequence(alpha: 0.05)
        var all = BernoulliConfidenceSequence(alpha: 0.05)
        for _ in 0..<200 {
            none.observe(false)
            all.observe(true)
        }
        // 200 log(1 - p) = log(0.05 / 201) at the edge: p = 0.0406.
        #expect(none.interval.lowerBound == 0 && abs(none.interval.upperBound - 0.0406) < 5e-4)
        #expect(all.interval.upperBound == 1 && abs(all.interval.lowerBound - 0.9594) < 5e-4)
    }
}
