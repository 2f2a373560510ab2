/// What can go wrong while embedding.
public enum EmbeddingError: Error, Equatable, CustomStringConvertible {
    /// The model files are missing or damaged; the message names the command that fixes it.
    case modelUnreadable(String)
    /// A remote embedding service failed or answered with something other than embeddings.
    case remote(String)
    /// The input cannot be embedded (for example, no texts at all where some are required).
    case invalidInput(String)
    /// This CPU cannot run what was asked of it (for example int8 arithmetic without AVX2).
    case unsupported(String)

    public var description: String {
        switch self {
        case .modelUnreadable(let message): message
        case .remote(let message): "remote embedder: \(message)"
        case .invalidInput(let message): "invalid input: \(message)"
        case .unsupported(let message): message
        }
    }
}
