/// Token states in 4 bits a component, the form a cache entry stores them in: about a quarter of half floats.
///
/// Each row is normalised first (the verifier compares the directions of token states, never their lengths),
/// then rotated by a fixed orthogonal transform, random signs followed by a Hadamard transform over blocks of up
/// to 128 components. The rotation spreads the few large components a transformer's hidden states carry over the
/// whole block, so every rotated component is close to a Gaussian of the block's root mean square. Each is coded
/// by the 16-level Lloyd-Max quantiser of a unit Gaussian scaled by that root mean square (one half float per
/// block), which distorts a unit Gaussian by 0.0095 of its variance. Decoding undoes the rotation, so dot products
/// with unrotated states are what they were, give or take the quantisation.
public struct RotatedQuantizer: Sendable {
    /// The Lloyd-Max reconstruction levels of a unit Gaussian, 16 of them, ascending.
    static let levels: [Float] = {
        let upper: [Float] = [0.1284, 0.3880, 0.6568, 0.9423, 1.2562, 1.6180, 2.0690, 2.7326]
        return upper.reversed().map { -$0 } + upper
    }()
    /// The decision thresholds between adjacent levels (their midpoints), 15 of them, ascending.
    static let thresholds: [Float] = (1..<levels.count).map { (levels[$0 - 1] + levels[$0]) / 2 }

    public let dimension: Int
    /// The Hadamard block: the largest power of two up to 128 that divides the dimension.
    let block: Int
    let signs: [Float]

    /// A quantiser for rows of `dimension` components, or nil if it cannot code them (an odd dimension: two
    /// components share a byte).
    public init?(dimension: Int) {
        guard dimension > 0, dimension % 2 == 0 else { return nil }
        self.dimension = dimension
        var size = 1
        while size < 128, dimension % (size * 2) == 0 { size *= 2 }
        block = size
        signs = Self.signs(dimension)
    }

    /// The bytes one coded row takes: a half-float scale per block and half a byte per component.
    public var bytesPerRow: Int { 2 * (dimension / block) + dimension / 2 }

    /// Appends the code of `row` (`dimension` floats) to `output`.
    public func encode(_ row: ArraySlice<Float>, into output: inout [UInt8]) {
        precondition(row.count == dimension)
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var rotated = [Float](repeating: 0, count: dimension)
        if norm > 0 {
            for (offset, value) in row.enumerated() { rotated[offset] = signs[offset] * value / norm }
        }
        var scales: [Float] = []
        rotated.withUnsafeMutableBufferPointer { values in
            for start in stride(from: 0, to: dimension, by: block) {
                let part = UnsafeMutableBufferPointer(rebasing: values[start..<start + block])
                Self.hadamard(part)
                let energy = part.reduce(0) { $0 + $1 * $1 }
                scales.append(Float(Float16((energy / Float(block)).squareRoot())))
            }
        }
        for scale in scales {
            let bits = Float16(scale).bitPattern
            output.append(UInt8(truncatingIfNeeded: bits))
            output.append(UInt8(truncatingIfNeeded: bits >> 8))
        }
        for pair in stride(from: 0, to: dimension, by: 2) {
            let low = Self.level(rotated[pair], scale: scales[pair / block])
            let high = Self.level(rotated[pair + 1], scale: scales[(pair + 1) / block])
            output.append(low | high << 4)
        }
    }

    /// Decodes one row from `bytes` (``bytesPerRow`` of them), appending its `dimension` floats to `output`.
    public func decode(_ bytes: UnsafeRawBufferPointer, into output: inout [Float]) {
        let blocks = dimension / block
        let scales = (0..<blocks).map { index in
            Float(Float16(bitPattern: UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8))
        }
        var rotated = [Float](repeating: 0, count: dimension)
        for pair in 0..<dimension / 2 {
            let byte = bytes[2 * blocks + pair]
            rotated[2 * pair] = Self.levels[Int(byte & 0x0F)] * scales[2 * pair / block]
            rotated[2 * pair + 1] = Self.levels[Int(byte >> 4)] * scales[(2 * pair + 1) / block]
        }
        rotated.withUnsafeMutableBufferPointer { values in
            for start in stride(from: 0, to: dimension, by: block) {
                Self.hadamard(UnsafeMutableBufferPointer(rebasing: values[start..<start + block]))
            }
        }
        // Rows were normalised before coding: give the decoded row unit length again (the levels of a block
        // whose components are all alike, such as a spread outlier, shrink it by up to a tenth).
        let norm = rotated.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let unit: Float = norm > 0 ? 1 / norm : 0
        for index in 0..<dimension { output.append(signs[index] * rotated[index] * unit) }
    }

    /// The 4-bit level of `value` in units of `scale`.
    private static func level(_ value: Float, scale: Float) -> UInt8 {
        guard scale > 0 else { return 8 }
        let unit = value / scale
        var index = 0
        while index < thresholds.count, unit >= thresholds[index] { index += 1 }
        return UInt8(index)
    }

    /// The orthonormal Walsh-Hadamard transform of a power-of-two block, in place (its own inverse).
    private static func hadamard(_ values: UnsafeMutableBufferPointer<Float>) {
        var width = 1
        while width < values.count {
            for start in stride(from: 0, to: values.count, by: width * 2) {
                for index in start..<start + width {
                    let (a, b) = (values[index], values[index + width])
                    values[index] = a + b
                    values[index + width] = a - b
                }
            }
            width *= 2
        }
        let scale = 1 / Float(values.count).squareRoot()
        for index in values.indices { values[index] *= scale }
    }

    /// The fixed random signs of the rotation: SplitMix64 from a constant seed, one bit a component. Changing
    /// them changes the stored form.
    private static func signs(_ dimension: Int) -> [Float] {
        var state: UInt64 = 0x5253_5354_4154_4534
        var signs: [Float] = []
        signs.reserveCapacity(dimension)
        while signs.count < dimension {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            mixed ^= mixed >> 31
            for bit in 0..<min(64, dimension - signs.count) { signs.append(mixed >> UInt64(bit) & 1 == 1 ? -1 : 1) }
        }
        return signs
    }
}
