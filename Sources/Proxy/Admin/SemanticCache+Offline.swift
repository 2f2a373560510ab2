import Embedding
import Foundation
import RouterShiftConfiguration
import VectorIndex

extension SemanticCache {
    /// The cache opened on its database for administration without loading the embedding model: stats,
    /// export (vectors come from the index) and purges by id, model, scope or age work, and keep the index
    /// in step with the entries; anything that must embed text fails with an error saying so.
    public static func openWithoutEmbedder(settings: GatewayConfiguration.Cache, store: GatewayStore) throws
        -> SemanticCache
    {
        let dimension = try PersistentHNSWIndex.storedDimension(in: store.database, name: indexName)
        let embedder = dimension.map { UnloadedEmbedder(dimension: $0) as any Embedder }
        return try SemanticCache(settings: settings, store: store, embedder: embedder)
    }
}

/// Stands in for the embedding model where a command must open the cache's index but never embeds: it
/// carries the stored index's dimension and refuses to embed.
struct UnloadedEmbedder: Embedder {
    let dimension: Int
    let identity: String? = nil

    func embed(_ texts: [String]) async throws -> [[Float]] {
        throw GatewayError(.internalError, "this command does not load the embedding model, so it cannot embed text")
    }
}
