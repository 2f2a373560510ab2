import Foundation

/// The shape of a BERT encoder, read from the model's `config.json`.
public struct BertConfiguration: Decodable, Sendable, Equatable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var vocabularySize: Int
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    public var activation: String

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case layers = "num_hidden_layers"
        case heads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case vocabularySize = "vocab_size"
        case maxPositions = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps"
        case activation = "hidden_act"
    }

    /// all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, intermediate 1536.
    public static let miniLM = BertConfiguration(
        hiddenSize: 384, layers: 6, heads: 12, intermediateSize: 1536, vocabularySize: 30522, maxPositions: 512,
        typeVocabularySize: 2, layerNormEpsilon: 1e-12, activation: "gelu")

    public init(
        hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int, vocabularySize: Int, maxPositions: Int,
        typeVocabularySize: Int, layerNormEpsilon: Float, activation: String
    ) {
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
        self.activation = activation
    }

    /// Reads `config.json`, accepting only what the encoder implements (exact GELU, heads dividing the width).
    public init(contentsOf url: URL) throws {
        do {
            self = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: url))
        } catch {
            throw EmbeddingError.modelUnreadable("cannot read \(url.path): \(error.localizedDescription)")
        }
        guard activation == "gelu", hiddenSize % heads == 0 else {
            throw EmbeddingError.modelUnreadable(
                "unsupported BERT configuration: \(activation), \(hiddenSize)/\(heads)")
        }
    }

    var headSize: Int { hiddenSize / heads }
}
