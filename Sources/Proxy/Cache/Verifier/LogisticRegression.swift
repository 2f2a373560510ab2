import CBLAS
import Foundation

/// L2-regularised logistic regression fitted by full-batch gradient descent with Adam, on standardised
/// features; matrix products on CBLAS. Deterministic: the same data give the same weights.
struct LogisticRegression {
    var means: [Float]
    var scales: [Float]
    var weights: [Float]
    var bias: Float

    /// - Parameters:
    ///   - rows: feature vectors, all of one length.
    ///   - regularisation: the L2 penalty on the weights (not the bias), per example.
    static func fit(rows: [[Float]], labels: [Bool], regularisation: Double, epochs: Int) -> LogisticRegression {
        let count = rows.count
        let width = rows[0].count
        var means = [Float](repeating: 0, count: width)
        var scales = [Float](repeating: 0, count: width)
        for row in rows { for index in 0..<width { means[index] += row[index] } }
        for index in 0..<width { means[index] /= Float(count) }
        for row in rows {
            for index in 0..<width {
                let centred = row[index] - means[index]
                scales[index] += centred * centred
            }
        }
        for index in 0..<width { scales[index] = max((scales[index] / Float(count)).squareRoot(), 1e-6) }
        var matrix = [Float](repeating: 0, count: count * width)
        for (position, row) in rows.enumerated() {
            for index in 0..<width { matrix[position * width + index] = (row[index] - means[index]) / scales[index] }
        }
        let targets = labels.map { $0 ? Float(1) : 0 }

        var weights = [Float](repeating: 0, count: width)
        var bias: Float = 0
        var firstMoment = [Float](repeating: 0, count: width + 1)
        var secondMoment = [Float](repeating: 0, count: width + 1)
        var logits = [Float](repeating: 0, count: count)
        var residuals = [Float](repeating: 0, count: count)
        var gradient = [Float](repeating: 0, count: width)
        let rate: Float = 0.05
        let (beta1, beta2): (Float, Float) = (0.9, 0.999)
        for epoch in 1...epochs {
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, Int32(count), Int32(width), 1, matrix, Int32(width), weights, 1, 0,
                &logits, 1)
            var biasGradient: Float = 0
            for index in 0..<count {
                let probability = 1 / (1 + exp(-(logits[index] + bias)))
                residuals[index] = (probability - targets[index]) / Float(count)
                biasGradient += residuals[index]
            }
            cblas_sgemv(
                CblasRowMajor, CblasTrans, Int32(count), Int32(width), 1, matrix, Int32(width), residuals, 1, 0,
                &gradient, 1)
            for index in 0..<width { gradient[index] += Float(regularisation) * weights[index] }
            let correction1 = 1 - pow(beta1, Float(epoch))
            let correction2 = 1 - pow(beta2, Float(epoch))
            for index in 0...width {
                let value = index < width ? gradient[index] : biasGradient
                firstMoment[index] = beta1 * firstMoment[index] + (1 - beta1) * value
                secondMoment[index] = beta2 * secondMoment[index] + (1 - beta2) * value * value
                let step =
                    rate * (firstMoment[index] / correction1)
                    / ((secondMoment[index] / correction2).squareRoot() + 1e-8)
                if index < width { weights[index] -= step } else { bias -= step }
            }
        }
        return LogisticRegression(means: means, scales: scales, weights: weights, bias: bias)
    }

    func score(_ row: [Float]) -> Double {
        var sum = bias
        for index in weights.indices { sum += weights[index] * (row[index] - means[index]) / scales[index] }
        return 1 / (1 + exp(-Double(sum)))
    }

    /// Out-of-fold scores: each pair scored by a model fitted on the other folds (folds by a seeded shuffle).
    static func outOfFoldScores(rows: [[Float]], labels: [Bool], folds: Int, regularisation: Double, epochs: Int)
        -> [Double]
    {
        let assignment = foldAssignment(count: rows.count, folds: folds)
        var scores = [Double](repeating: 0, count: rows.count)
        for fold in 0..<folds {
            let training = rows.indices.filter { assignment[$0] != fold }
            let model = fit(
                rows: training.map { rows[$0] }, labels: training.map { labels[$0] }, regularisation: regularisation,
                epochs: epochs)
            for index in rows.indices where assignment[index] == fold { scores[index] = model.score(rows[index]) }
        }
        return scores
    }

    static func foldAssignment(count: Int, folds: Int) -> [Int] {
        var generator = SeededRandom(seed: 2026)
        var order = Array(0..<count)
        order.shuffle(using: &generator)
        var assignment = [Int](repeating: 0, count: count)
        for (position, index) in order.enumerated() { assignment[index] = position % folds }
        return assignment
    }
}
