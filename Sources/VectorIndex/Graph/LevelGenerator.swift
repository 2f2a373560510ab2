#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Draws the top level of each new node: `floor(-ln(U) / ln(M))`, as in the HNSW paper and hnswlib.
struct LevelGenerator {
    private var state: UInt64
    private let multiplier: Double

    /// The highest level ever drawn; at M = 16 a level above 8 needs more than 4 billion nodes.
    static let maxLevel = 16

    init(m: Int, seed: UInt64) {
        state = seed
        multiplier = 1 / log(Double(m))
    }

    mutating func next() -> Int {
        // SplitMix64: a full-period generator whose output passes BigCrush; ample for level draws.
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let uniform = Double((z >> 11) + 1) * 0x1p-53  // in (0, 1]
        return min(Int(-log(uniform) * multiplier), Self.maxLevel)
    }
}
