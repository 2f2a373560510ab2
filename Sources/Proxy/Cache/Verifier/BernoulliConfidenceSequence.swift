import Foundation

/// An anytime-valid confidence sequence for the mean of a stream of yes/no outcomes (for instance, the share
/// of audited cache hits that a judge finds wrong): with probability at least `1 - alpha` the true mean lies
/// in ``interval`` at every look at once, however often it is looked at and whenever one stops.
///
/// Robbins' beta-binomial mixture martingale: for a candidate mean p, the mixture over p' ~ Beta(a, b) of
/// the likelihood ratio of p' to p after S events in n trials is
/// `M_n(p) = B(a + S, b + n - S) / B(a, b) / (p^S (1 - p)^(n - S))`, a nonnegative martingale with mean 1
/// when p is the true mean; by Ville's inequality it ever reaches `1 / alpha` with probability at most
/// alpha. The interval is every p whose martingale is below `1 / alpha`: a single interval around S / n,
/// because the log-likelihood is concave in p.
public struct BernoulliConfidenceSequence: Sendable, Equatable, Codable {
    public let alpha: Double
    /// The mixing prior Beta(a, b): its mass where the mean is expected narrows the interval there.
    public let priorA: Double
    public let priorB: Double
    public private(set) var trials = 0
    public private(set) var events = 0

    public init(alpha: Double, priorA: Double = 1, priorB: Double = 1) {
        precondition(alpha > 0 && alpha < 1 && priorA > 0 && priorB > 0)
        self.alpha = alpha
        self.priorA = priorA
        self.priorB = priorB
    }

    /// Records one outcome; `event` true counts towards the mean (a disagreement, say).
    public mutating func observe(_ event: Bool) {
        trials += 1
        if event { events += 1 }
    }

    /// The estimate S / n, nil before any outcome.
    public var estimate: Double? { trials == 0 ? nil : Double(events) / Double(trials) }

    /// Whether `mean` is still plausible at this look: its mixture martingale is below `1 / alpha`.
    public func contains(_ mean: Double) -> Bool { logLikelihood(mean) > cutoff }

    /// Every mean still plausible at this look; [0, 1] before any outcome.
    public var interval: ClosedRange<Double> {
        guard trials > 0 else { return 0...1 }
        let centre = Double(events) / Double(trials)
        let low = events == 0 ? 0 : boundary(from: centre, towards: 0)
        let high = events == trials ? 1 : boundary(from: centre, towards: 1)
        return low...high
    }

    /// log of p^S (1 - p)^(n - S), with 0 log 0 = 0.
    private func logLikelihood(_ mean: Double) -> Double {
        let failures = Double(trials - events)
        let successes = Double(events)
        if mean <= 0 { return events == 0 ? 0 : -.infinity }
        if mean >= 1 { return events == trials ? 0 : -.infinity }
        return successes * log(mean) + failures * log1p(-mean)
    }

    /// The log-likelihood a mean must exceed: log B(a + S, b + F) - log B(a, b) - log(1 / alpha).
    private var cutoff: Double {
        func logBeta(_ x: Double, _ y: Double) -> Double { lgamma(x) + lgamma(y) - lgamma(x + y) }
        let (successes, failures) = (Double(events), Double(trials - events))
        return logBeta(priorA + successes, priorB + failures) - logBeta(priorA, priorB) + log(alpha)
    }

    /// Where the log-likelihood crosses the cutoff between the estimate (inside) and `end` (outside), by
    /// bisection.
    private func boundary(from inside: Double, towards end: Double) -> Double {
        var (inner, outer) = (inside, end)
        let limit = cutoff
        for _ in 0..<100 where abs(outer - inner) > 1e-12 {
            let middle = (inner + outer) / 2
            if logLikelihood(middle) > limit { inner = middle } else { outer = middle }
        }
        return inner
    }
}
