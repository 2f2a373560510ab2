import Tokenizer

/// A text as the encoder saw it: its token ids, the last hidden state of each token, and the pooled,
/// normalised sentence vector.
public struct EncodedText: Sendable, Equatable {
    public let tokenIDs: [Int32]
    /// `tokenIDs.count` rows of `dimension` floats.
    public let tokenStates: [Float]
    public let vector: [Float]

    public init(tokenIDs: [Int32], tokenStates: [Float], vector: [Float]) {
        self.tokenIDs = tokenIDs
        self.tokenStates = tokenStates
        self.vector = vector
    }
}

/// An embedder that also exposes its token states, which the cache's verifier aligns token by token.
public protocol TokenEmbedder: Embedder {
    func encode(_ texts: [String]) async throws -> [EncodedText]
    var tokenizer: WordPieceTokenizer { get }
}
