/// What can go wrong with a vector index.
public enum VectorIndexError: Error, Equatable, CustomStringConvertible {
    /// A vector's length differs from the index's dimension.
    case dimensionMismatch(expected: Int, actual: Int)
    /// A vector has a NaN or infinite component, or is all zeros, so it has no direction to compare.
    case invalidVector(String)
    /// A construction or search parameter is out of range.
    case invalidParameter(String)
    /// The persisted index does not match what was asked for, or its rows are inconsistent.
    case corruptStore(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let expected, let actual):
            "vector has \(actual) dimensions, the index expects \(expected)"
        case .invalidVector(let reason): "invalid vector: \(reason)"
        case .invalidParameter(let reason): "invalid parameter: \(reason)"
        case .corruptStore(let reason): "vector index store is inconsistent: \(reason)"
        }
    }
}
