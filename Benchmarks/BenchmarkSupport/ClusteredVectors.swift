#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deterministic random source (SplitMix64) for reproducible synthetic data.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal variate (Box-Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// L2-normalised vectors drawn around random cluster centres, like sentence embeddings of a topical corpus:
/// each vector is its centre plus isotropic Gaussian noise, normalised.
public struct ClusteredVectors: Sendable {
    public let dimension: Int
    public let clusters: Int
    public let noise: Float
    private var generator: SeededGenerator
    private let centres: [[Float]]

    /// - Parameters:
    ///   - noise: the standard deviation of each noise component relative to a unit centre.
    public init(dimension: Int, clusters: Int, noise: Float = 0.05, seed: UInt64 = 42) {
        self.dimension = dimension
        self.clusters = clusters
        self.noise = noise
        var generator = SeededGenerator(seed: seed)
        var centres: [[Float]] = []
        for _ in 0..<clusters {
            centres.append(Self.normalized((0..<dimension).map { _ in generator.nextGaussian() }))
        }
        self.centres = centres
        self.generator = generator
    }

    /// The next vector and the cluster it was drawn from.
    public mutating func next() -> (vector: [Float], cluster: Int) {
        let cluster = Int.random(in: 0..<clusters, using: &generator)
        let centre = centres[cluster]
        var vector = [Float](repeating: 0, count: dimension)
        for index in 0..<dimension { vector[index] = centre[index] + noise * generator.nextGaussian() }
        return (Self.normalized(vector), cluster)
    }

    public mutating func make(_ count: Int) -> [[Float]] {
        (0..<count).map { _ in next().vector }
    }

    public static func normalized(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return vector.map { $0 / norm }
    }
}
