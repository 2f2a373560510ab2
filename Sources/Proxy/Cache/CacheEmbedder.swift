import Embedding
import Foundation
import RouterShiftConfiguration

/// The embedding model a cache configuration names.
public enum CacheEmbedder {
    /// - Parameters:
    ///   - client: the HTTP client a remote embedder calls through.
    ///   - indexed: the precision of the index's vectors (``SemanticCache/indexedPrecision(in:)``), which `auto`
    ///     takes where this CPU can run it.
    public static func make(
        _ kind: GatewayConfiguration.EmbedderKind, client: UpstreamClient, indexed: EmbeddingPrecision? = nil
    ) throws -> any Embedder {
        switch kind {
        case .local(let directory, let threads, let configured):
            var precision = configured
            if configured == .auto, let indexed, indexed == .fp32 || EmbeddingPrecision.int8KernelName != nil {
                precision = indexed
            }
            return try LocalEmbedder(
                files: ModelFiles(directory: URL(fileURLWithPath: directory)), threads: threads, precision: precision)
        case .remote(let baseURL, let model, let apiKey, let dimension):
            return RemoteEmbedder(
                baseURL: baseURL, model: model, apiKey: apiKey, dimension: dimension,
                transport: UpstreamTransport(client: client))
        }
    }
}
