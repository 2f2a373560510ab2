/// The arithmetic of the local encoder's linear layers, which hold nearly all of its work.
///
/// Quantised vectors differ slightly from fp32 ones (cosine at least 0.995 on the reference sentences,
/// see BENCHMARKS.md for QQP average precision), so an index should be filled and queried at one precision.
public enum EmbeddingPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// int8 where the CPU has an int8 kernel (AVX-512 VNNI or AVX2), fp32 elsewhere.
    case auto
    /// Weights quantised per output channel at load, activations per row, int32 accumulation.
    case int8
    /// Float32 throughout: the reference.
    case fp32

    public var description: String { rawValue }

    /// The precision `auto` means on this CPU.
    public static var automatic: EmbeddingPrecision { Int8Kernel.best == nil ? .fp32 : .int8 }

    /// This precision with `auto` resolved for this CPU.
    public var resolved: EmbeddingPrecision { self == .auto ? Self.automatic : self }

    /// The int8 instructions this CPU would use (`avx512-vnni`, `avx2`), or nil where it has none.
    public static var int8KernelName: String? { Int8Kernel.best?.name }
}
