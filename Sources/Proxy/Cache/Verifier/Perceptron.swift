import CBLAS
import Foundation

/// A dense layer: `outputs = weights · inputs + biases`, the weights row-major, `outputs × inputs`.
public struct DenseLayer: Sendable, Codable, Equatable {
    public var inputs: Int
    public var outputs: Int
    public var weights: [Float]
    public var biases: [Float]
}

/// A feed-forward network over standardised features: dense layers with ReLU between them and one logit
/// out. No hidden layer makes it a logistic regression. Trained by minibatch Adam with decoupled weight
/// decay on CBLAS products; deterministic (seeded initialisation and order, single-threaded BLAS).
struct Perceptron: Sendable, Equatable {
    var layers: [DenseLayer]

    struct Settings: Sendable, Equatable {
        /// Widths of the hidden layers; empty for a logistic regression.
        var hidden: [Int]
        var weightDecay: Float
        var learningRate: Float = 1e-3
        var batchSize = 128
        var seed: UInt64 = 2026
    }

    /// The logit of one standardised row.
    func logit(_ row: [Float]) -> Float {
        var activation = row
        for (position, layer) in layers.enumerated() {
            var output = layer.biases
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, Int32(layer.outputs), Int32(layer.inputs), 1, layer.weights,
                Int32(layer.inputs), activation, 1, 1, &output, 1)
            if position < layers.count - 1 { for index in output.indices { output[index] = max(output[index], 0) } }
            activation = output
        }
        return activation[0]
    }

    /// The logits of `count` standardised rows held row-major in `matrix`.
    func logits(_ matrix: [Float], count: Int) -> [Float] {
        var activation = matrix
        for (position, layer) in layers.enumerated() {
            activation = Self.forward(layer, activation, count: count, rectify: position < layers.count - 1)
        }
        return activation
    }

    /// `count` rows through one layer, ReLU applied when `rectify`.
    private static func forward(_ layer: DenseLayer, _ input: [Float], count: Int, rectify: Bool) -> [Float] {
        var output = [Float](repeating: 0, count: count * layer.outputs)
        for row in 0..<count {
            for unit in 0..<layer.outputs { output[row * layer.outputs + unit] = layer.biases[unit] }
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(layer.outputs), Int32(layer.inputs), 1,
            input, Int32(layer.inputs), layer.weights, Int32(layer.inputs), 1, &output, Int32(layer.outputs))
        if rectify { for index in output.indices { output[index] = max(output[index], 0) } }
        return output
    }

    /// Fits on standardised rows (`count × width`, row-major) and returns the network after each epoch in
    /// `checkpoints` (ascending), so one run serves several training lengths.
    static func fit(
        matrix: [Float], count: Int, width: Int, labels: [Bool], settings: Settings, checkpoints: [Int]
    ) -> [Perceptron] {
        var generator = SeededRandom(seed: settings.seed)
        let widths = [width] + settings.hidden + [1]
        var network = Perceptron(
            layers: (1..<widths.count).map { index in
                let (inputs, outputs) = (widths[index - 1], widths[index])
                let limit = (6 / Float(inputs)).squareRoot()
                return DenseLayer(
                    inputs: inputs, outputs: outputs,
                    weights: (0..<inputs * outputs).map { _ in Float.random(in: -limit...limit, using: &generator) },
                    biases: [Float](repeating: 0, count: outputs))
            })
        var optimiser = Adam(layers: network.layers, rate: settings.learningRate)
        let targets = labels.map { $0 ? Float(1) : 0 }
        var order = Array(0..<count)
        var snapshots: [Perceptron] = []
        var batch = [Float](repeating: 0, count: settings.batchSize * width)
        for epoch in 1...(checkpoints.last ?? 1) {
            order.shuffle(using: &generator)
            for start in stride(from: 0, to: count, by: settings.batchSize) {
                let rows = Array(order[start..<min(start + settings.batchSize, count)])
                for (position, row) in rows.enumerated() {
                    batch.withUnsafeMutableBufferPointer { target in
                        matrix.withUnsafeBufferPointer { source in
                            for index in 0..<width { target[position * width + index] = source[row * width + index] }
                        }
                    }
                }
                let gradients = network.gradients(
                    Array(batch[0..<rows.count * width]), targets: rows.map { targets[$0] }, count: rows.count)
                optimiser.step(&network.layers, gradients: gradients, weightDecay: settings.weightDecay)
            }
            if checkpoints.contains(epoch) { snapshots.append(network) }
        }
        return snapshots
    }

    /// Gradients of the mean logistic loss over a batch, layer by layer (weights, then biases).
    private func gradients(_ input: [Float], targets: [Float], count: Int) -> [(weights: [Float], biases: [Float])] {
        var activations = [input]
        for (position, layer) in layers.enumerated() {
            activations.append(
                Self.forward(layer, activations[position], count: count, rectify: position < layers.count - 1))
        }
        var delta = zip(activations.last!, targets).map { logit, target in
            (1 / (1 + exp(-logit)) - target) / Float(count)
        }
        var result: [(weights: [Float], biases: [Float])] = []
        for position in layers.indices.reversed() {
            let layer = layers[position]
            let previous = activations[position]
            var weights = [Float](repeating: 0, count: layer.outputs * layer.inputs)
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(layer.outputs), Int32(layer.inputs), Int32(count), 1,
                delta, Int32(layer.outputs), previous, Int32(layer.inputs), 0, &weights, Int32(layer.inputs))
            var biases = [Float](repeating: 0, count: layer.outputs)
            for row in 0..<count { for unit in 0..<layer.outputs { biases[unit] += delta[row * layer.outputs + unit] } }
            result.append((weights: weights, biases: biases))
            guard position > 0 else { break }
            var upstream = [Float](repeating: 0, count: count * layer.inputs)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(layer.inputs), Int32(layer.outputs), 1,
                delta, Int32(layer.outputs), layer.weights, Int32(layer.inputs), 0, &upstream, Int32(layer.inputs))
            for index in upstream.indices where previous[index] <= 0 { upstream[index] = 0 }
            delta = upstream
        }
        return result.reversed()
    }
}

/// Adam's moment estimates for every parameter of a network.
private struct Adam {
    var first: [(weights: [Float], biases: [Float])]
    var second: [(weights: [Float], biases: [Float])]
    var steps = 0
    let rate: Float
    let beta1: Float = 0.9
    let beta2: Float = 0.999

    init(layers: [DenseLayer], rate: Float) {
        first = layers.map {
            (
                weights: [Float](repeating: 0, count: $0.weights.count),
                biases: [Float](repeating: 0, count: $0.biases.count)
            )
        }
        second = first
        self.rate = rate
    }

    /// One update; weight decay shrinks the weights (not the biases) in proportion to the rate.
    mutating func step(
        _ layers: inout [DenseLayer], gradients: [(weights: [Float], biases: [Float])], weightDecay: Float
    ) {
        steps += 1
        let constants = Constants(
            rate: rate, beta1: beta1, beta2: beta2, correction1: 1 - pow(beta1, Float(steps)),
            correction2: 1 - pow(beta2, Float(steps)))
        for position in layers.indices {
            Self.update(
                &layers[position].weights, gradients[position].weights, &first[position].weights,
                &second[position].weights, decay: weightDecay, constants)
            Self.update(
                &layers[position].biases, gradients[position].biases, &first[position].biases,
                &second[position].biases, decay: 0, constants)
        }
    }

    private struct Constants {
        let rate, beta1, beta2, correction1, correction2: Float
    }

    private static func update(
        _ value: inout [Float], _ gradient: [Float], _ m: inout [Float], _ v: inout [Float], decay: Float,
        _ c: Constants
    ) {
        for index in value.indices {
            m[index] = c.beta1 * m[index] + (1 - c.beta1) * gradient[index]
            v[index] = c.beta2 * v[index] + (1 - c.beta2) * gradient[index] * gradient[index]
            let step = (m[index] / c.correction1) / ((v[index] / c.correction2).squareRoot() + 1e-8)
            value[index] -= c.rate * (step + decay * value[index])
        }
    }
}

/// Platt scaling: a probability `1 / (1 + exp(-(slope · logit + intercept)))` fitted by Newton's method on
/// held-out logits with Platt's smoothed targets. Monotone, so it moves no pair across another.
public struct PlattScaling: Sendable, Codable, Equatable {
    public var slope: Double
    public var intercept: Double

    public static let identity = PlattScaling(slope: 1, intercept: 0)

    public func probability(_ logit: Double) -> Double { 1 / (1 + exp(-(slope * logit + intercept))) }

    /// Newton's method from a constant probability, each step halved until the loss falls (Platt 1999, with
    /// the line search of Lin, Lin and Weng 2007).
    static func fit(logits: [Double], labels: [Bool]) -> PlattScaling {
        let positives = Double(labels.filter { $0 }.count)
        let negatives = Double(labels.count) - positives
        let high = (positives + 1) / (positives + 2)
        let low = 1 / (negatives + 2)
        func loss(_ a: Double, _ b: Double) -> Double {
            zip(logits, labels).reduce(0) { sum, pair in
                let z = a * pair.0 + b
                let target = pair.1 ? high : low
                // -[t log p + (1 - t) log(1 - p)] with p = sigmoid(z), stable for large |z|.
                return sum + max(z, 0) - target * z + log1p(exp(-abs(z)))
            }
        }
        var (a, b) = (0.0, log((positives + 1) / (negatives + 1)))
        var current = loss(a, b)
        for _ in 0..<100 {
            var (ga, gb, haa, hab, hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12)
            for (logit, label) in zip(logits, labels) {
                let p = 1 / (1 + exp(-(a * logit + b)))
                let residual = p - (label ? high : low)
                let weight = max(p * (1 - p), 1e-12)
                ga += residual * logit
                gb += residual
                haa += weight * logit * logit
                hab += weight * logit
                hbb += weight
            }
            let determinant = haa * hbb - hab * hab
            guard determinant > 0 else { break }
            let (stepA, stepB) = ((hbb * ga - hab * gb) / determinant, (haa * gb - hab * ga) / determinant)
            var scale = 1.0
            var next = loss(a - stepA, b - stepB)
            while next > current, scale > 1e-10 {
                scale /= 2
                next = loss(a - scale * stepA, b - scale * stepB)
            }
            guard next <= current else { break }
            a -= scale * stepA
            b -= scale * stepB
            let improvement = current - next
            current = next
            if improvement < 1e-12 * max(current, 1) { break }
        }
        return PlattScaling(slope: a, intercept: b)
    }
}
