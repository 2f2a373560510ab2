import Foundation
import Tokenizer

/// all-MiniLM-L6-v2 (or any BERT sentence encoder with mean pooling) running in this process, its linear
/// layers in int8 or fp32 (``EmbeddingPrecision``).
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

    /// The arithmetic of the linear layers, `auto` resolved for this CPU.
    public let precision: EmbeddingPrecision
    /// The model's folder name.
    private let modelName: String

    public var identity: String? { "local \(modelName) \(precision)" }

    /// Loads the model: maps the weights, reads the vocabulary and configuration, and for int8 quantises
    /// the linear layers (about 40 ms for MiniLM).
    ///
    /// - Parameters:
    ///   - threads: forward passes that may run at once, each on a thread of its own.
    ///   - maxBatchTokens: tokens per forward pass when batching concurrent calls.
    ///   - verifyChecksum: hash the weights against the published SHA-256 first (about 0.3 s).
    ///   - precision: the linear layers' arithmetic; `auto` takes int8 where the CPU has a kernel for it.
    /// - Throws: ``EmbeddingError/modelUnreadable(_:)`` with the command that fixes it;
    ///   ``EmbeddingError/unsupported(_:)`` for int8 on a CPU without AVX2.
    public convenience init(
        files: ModelFiles, threads: Int = 1, maxBatchTokens: Int = 4096, verifyChecksum: Bool = true,
        precision: EmbeddingPrecision = .auto
    ) throws {
        try self.init(
            files: files, threads: threads, maxBatchTokens: maxBatchTokens, verifyChecksum: verifyChecksum,
            kernel: try LinearKernel.forPrecision(precision))
    }

    init(files: ModelFiles, threads: Int, maxBatchTokens: Int, verifyChecksum: Bool, kernel: LinearKernel) throws {
        try files.verify(checksum: verifyChecksum)
        modelName = files.directory.standardizedFileURL.lastPathComponent
        let configuration = try BertConfiguration(contentsOf: files.configuration)
        let vocabulary: Vocabulary
        do {
            vocabulary = try Vocabulary(contentsOf: files.vocabulary)
        } catch {
            throw EmbeddingError.modelUnreadable(error.message)
        }
        guard vocabulary.count == configuration.vocabularySize else {
            throw EmbeddingError.modelUnreadable(
                "vocab.txt has \(vocabulary.count) tokens, the model \(configuration.vocabularySize): run `\(ModelFiles.fetchCommand)`"
            )
        }
        let weights = try BertWeights(
            file: try SafeTensors(contentsOf: files.weights), configuration: configuration, kernel: kernel)
        encoder = BertEncoder(weights: weights)
        if case .int8 = kernel { precision = .int8 } else { precision = .fp32 }
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

    /// Bytes this embedder holds beyond the mapped weights file: packed or quantised layers and warm workspaces.
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
