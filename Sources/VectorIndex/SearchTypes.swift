/// One hit of a search: the label given at insert and its cosine similarity to the query.
public struct SearchResult: Sendable, Equatable, Hashable {
    public let label: Int64
    /// Cosine similarity in [-1, 1]; both sides are L2-normalised.
    public let similarity: Float

    public init(label: Int64, similarity: Float) {
        self.label = label
        self.similarity = similarity
    }
}

/// Restricts a search to the labels a predicate admits, such as the entries of one tenant and model.
///
/// The search still walks rejected nodes to reach admitted ones. When few labels pass, an exact scan of the
/// admitted vectors is both faster and exact, so the index estimates how many pass (from
/// `expectedMatches` when the caller knows it, otherwise from a sample) and chooses.
public struct SearchFilter: Sendable {
    public let isIncluded: @Sendable (Int64) -> Bool
    public let expectedMatches: Int?

    /// - Parameters:
    ///   - expectedMatches: how many labels in the index pass, if known.
    ///   - isIncluded: whether a label may be returned; called from the searching thread.
    public init(expectedMatches: Int? = nil, _ isIncluded: @escaping @Sendable (Int64) -> Bool) {
        self.expectedMatches = expectedMatches
        self.isIncluded = isIncluded
    }
}
