import Embedding
import Foundation
import RouterShiftConfiguration

/// The embedding model a cache configuration names.
public enum CacheEmbedder {
    /// - Parameter client: the HTTP client a remote embedder calls through.
    public static func make(_ kind: GatewayConfiguration.EmbedderKind, client: UpstreamClient) throws -> any Embedder {
        switch kind {
        case .local(let directory, let threads, let precision):
            return try LocalEmbedder(
                files: ModelFiles(directory: URL(fileURLWithPath: directory)), threads: threads, precision: precision)
        case .remote(let baseURL, let model, let apiKey, let dimension):
            return RemoteEmbedder(
                baseURL: baseURL, model: model, apiKey: apiKey, dimension: dimension,
                transport: UpstreamTransport(client: client))
        }
    }
}
