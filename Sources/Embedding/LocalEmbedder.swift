import Foundation

/// all-MiniLM-L6-v2 (or any BERT sentence encoder with mean pooling) running in this process on CBLAS.
///
/// Concurrent calls are batched: while one forward pass runs, the texts of newly arriving calls wait and go
/// through the next pass together, so throughput grows with load instead of queueing one text at a time.
///
/// ```swift
/// let embedder = try LocalEmbedder(files: ModelFiles(directory: URL(fileURLWithPath: ModelFiles.defaultDirectory)))
/// let vectors = try await embedder.embed(["How do I reset my password?"])
/// ```
public final class LocalEmbedder: TokenEmbedder {
    public let dimension: Int
    public let tokenizer: WordPieceTokenizer
    let encoder: BertEncoder
    private let scheduler: EncoderScheduler

    /// Loads the model: maps the weights, reads the vocabulary and configuration.
    ///
    /// - Parameters:
    ///   - threads: forward passes that may run at once, each on a thread of its own.
    ///   - maxBatchTokens: tokens per forward pass when batching concurrent calls.
    ///   - verifyChecksum: hash the weights against the published SHA-256 first (about 0.3 s).
    /// - Throws: ``EmbeddingError/modelUnreadable(_:)`` with the command that fixes it.
    public convenience init(
        files: ModelFiles, threads: Int = 1, maxBatchTokens: Int = 4096, verifyChecksum: Bool = true
    ) throws {
        try self.init(
            files: files, threads: threads, maxBatchTokens: maxBatchTokens, verifyChecksum: verifyChecksum,
            kernel: .automatic)
    }

    init(files: ModelFiles, threads: Int, maxBatchTokens: Int, verifyChecksum: Bool, kernel: LinearKernel) throws {
        try files.verify(checksum: verifyChecksum)
        let configuration = try BertConfiguration(contentsOf: files.configuration)
        let vocabulary = try Vocabulary(contentsOf: files.vocabulary)
        guard vocabulary.count == configuration.vocabularySize else {
            throw EmbeddingError.modelUnreadable(
                "vocab.txt has \(vocabulary.count) tokens, the model \(configuration.vocabularySize): run `\(ModelFiles.fetchCommand)`"
            )
        }
        let weights = try BertWeights(
            file: try SafeTensors(contentsOf: files.weights), configuration: configuration, kernel: kernel)
        encoder = BertEncoder(weights: weights)
        tokenizer = WordPieceTokenizer(vocabulary: vocabulary, maxLength: min(256, configuration.maxPositions))
        dimension = configuration.hiddenSize
        scheduler = EncoderScheduler(
            encoder: encoder, threads: max(threads, 1), maxBatchTokens: max(maxBatchTokens, 256))
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await encode(texts).map(\.vector)
    }

    public func encode(_ texts: [String]) async throws -> [EncodedText] {
        guard !texts.isEmpty else { return [] }
        return await scheduler.encode(texts.map(tokenizer.encode))
    }

    /// Embeds on the calling thread with a workspace of its own, bypassing the batching scheduler.
    public func embedOnCurrentThread(_ texts: [String]) -> [[Float]] {
        let workspace = EncoderWorkspace(configuration: encoder.configuration)
        return Self.encode(texts.map(tokenizer.encode), encoder: encoder, workspace: workspace).map(\.vector)
    }

    /// Texts waiting for a forward pass and the sizes of the passes so far.
    public var load: EncoderLoad { scheduler.load }

    /// Bytes this embedder holds beyond the mapped weights file: fused projections and warm workspaces.
    public var ownedBytes: Int { encoder.weights.ownedBytes + scheduler.workspaceBytes }

    static func encode(_ texts: [[Int32]], encoder: BertEncoder, workspace: EncoderWorkspace) -> [EncodedText] {
        let width = encoder.configuration.hiddenSize
        return encoder.encode(texts, workspace: workspace) { states, ranges in
            zip(texts, ranges).map { ids, range in
                EncodedText(
                    tokenIDs: ids,
                    tokenStates: Array(
                        UnsafeBufferPointer(start: states + range.lowerBound * width, count: range.count * width)),
                    vector: MeanPooling.pool(states, rows: range, width: width))
            }
        }
    }
}
