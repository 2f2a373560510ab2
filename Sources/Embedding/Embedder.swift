/// Turns texts into L2-normalised vectors of a fixed dimension, for similarity search.
///
/// Implementations are safe to call concurrently.
public protocol Embedder: Sendable {
    /// The length of every vector.
    var dimension: Int { get }

    /// What makes the vectors, model and arithmetic (`local all-MiniLM-L6-v2 int8`): vectors of two
    /// identities are not comparable, so an index records the one that built it. Nil for a stand-in that
    /// makes no vectors.
    var identity: String? { get }

    /// One L2-normalised vector per text, in order.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

/// Scales `vector` to unit length; an all-zero vector stays zero.
func normalized(_ vector: [Float]) -> [Float] {
    var sum: Float = 0
    for value in vector { sum += value * value }
    guard sum > 0, sum.isFinite else { return vector }
    let scale = 1 / sum.squareRoot()
    return vector.map { $0 * scale }
}
