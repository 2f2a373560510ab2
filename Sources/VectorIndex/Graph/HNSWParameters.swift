/// The construction parameters of an HNSW graph. The defaults are hnswlib's.
public struct HNSWParameters: Sendable, Equatable, Codable {
    /// Links per node on the upper levels; level 0 keeps up to `2 * m`.
    public var m: Int
    /// The size of the candidate list while inserting: larger builds a better graph, more slowly.
    public var efConstruction: Int
    /// The default size of the candidate list while searching, when a query names none.
    public var efSearch: Int
    /// Seeds the level generator, so the same inserts build the same graph.
    public var seed: UInt64

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 100) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
    }

    /// Links per node on level 0.
    var maxLinksLevel0: Int { 2 * m }

    func validate() throws(VectorIndexError) {
        guard (2...255).contains(m) else { throw .invalidParameter("m must be between 2 and 255, not \(m)") }
        guard efConstruction >= 1 else {
            throw .invalidParameter("efConstruction must be positive, not \(efConstruction)")
        }
        guard efSearch >= 1 else { throw .invalidParameter("efSearch must be positive, not \(efSearch)") }
    }
}
