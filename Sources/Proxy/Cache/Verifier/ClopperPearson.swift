import Foundation

/// Exact (Clopper-Pearson) one-sided confidence bounds on a binomial proportion, from the beta quantiles.
public enum ClopperPearson {
    /// The upper bound `u` on the proportion after `events` in `trials` such that P(rate <= u) >= `confidence`:
    /// the `confidence` quantile of Beta(events + 1, trials - events); 1 when every trial was an event.
    public static func upperBound(events: Int, trials: Int, confidence: Double) -> Double {
        precondition(trials >= 0 && (0...trials).contains(events) && confidence > 0 && confidence < 1)
        guard events < trials else { return 1 }
        return IncompleteBeta.quantile(confidence, a: Double(events + 1), b: Double(trials - events))
    }

    /// The lower bound: the `1 - confidence` quantile of Beta(events, trials - events + 1); 0 with no event.
    public static func lowerBound(events: Int, trials: Int, confidence: Double) -> Double {
        precondition(trials >= 0 && (0...trials).contains(events) && confidence > 0 && confidence < 1)
        guard events > 0 else { return 0 }
        return IncompleteBeta.quantile(1 - confidence, a: Double(events), b: Double(trials - events + 1))
    }
}

/// The regularised incomplete beta function I_x(a, b) and its inverse in x.
enum IncompleteBeta {
    /// I_x(a, b) by the continued fraction of Numerical Recipes (6.4), to about 1e-14.
    static func regularized(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) { return exp(logFront) * continuedFraction(x, a: a, b: b) / a }
        return 1 - exp(logFront) * continuedFraction(1 - x, a: b, b: a) / b
    }

    /// The x in [0, 1] with I_x(a, b) = p, by bisection (I is increasing in x), to 1e-15.
    static func quantile(_ p: Double, a: Double, b: Double) -> Double {
        var (low, high) = (0.0, 1.0)
        for _ in 0..<200 where high - low > 1e-15 {
            let middle = (low + high) / 2
            if regularized(middle, a: a, b: b) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// The modified Lentz evaluation of the continued fraction for I_x(a, b).
    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        d = 1 / (abs(d) < tiny ? tiny : d)
        var result = d
        for m in 1...10_000 {
            let step = Double(m)
            let even = step * (b - step) * x / ((a + 2 * step - 1) * (a + 2 * step))
            d = 1 + even * d
            d = 1 / (abs(d) < tiny ? tiny : d)
            c = 1 + even / c
            c = abs(c) < tiny ? tiny : c
            result *= d * c
            let odd = -(a + step) * (a + b + step) * x / ((a + 2 * step) * (a + 2 * step + 1))
            d = 1 + odd * d
            d = 1 / (abs(d) < tiny ? tiny : d)
            c = 1 + odd / c
            c = abs(c) < tiny ? tiny : c
            let change = d * c
            result *= change
            if abs(change - 1) < 1e-15 { break }
        }
        return result
    }
}
