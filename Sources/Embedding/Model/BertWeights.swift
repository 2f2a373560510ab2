/// The weights of a BERT encoder, read in place from a mapped safetensors file; the linear layers keep
/// their own packed copies when the packed kernel runs (see ``LinearKernel``).
final class BertWeights: @unchecked Sendable {
    struct Layer {
        /// Query, key and value stacked into one projection of 3 x hidden outputs.
        let queryKeyValue: LinearWeights
        let attentionOutput: LinearWeights
        let attentionNormGamma: UnsafePointer<Float>
        let attentionNormBeta: UnsafePointer<Float>
        let intermediate: LinearWeights
        let output: LinearWeights
        let outputNormGamma: UnsafePointer<Float>
        let outputNormBeta: UnsafePointer<Float>
    }

    let configuration: BertConfiguration
    let wordEmbeddings: UnsafePointer<Float>
    let positionEmbeddings: UnsafePointer<Float>
    let tokenTypeEmbeddings: UnsafePointer<Float>
    let embeddingNormGamma: UnsafePointer<Float>
    let embeddingNormBeta: UnsafePointer<Float>
    let layers: [Layer]
    /// Keeps the mapping alive as long as the pointers into it.
    private let file: SafeTensors

    init(file: SafeTensors, configuration: BertConfiguration, kernel: LinearKernel) throws {
        self.file = file
        self.configuration = configuration
        let hidden = configuration.hiddenSize
        let intermediate = configuration.intermediateSize
        wordEmbeddings = try file.floats(
            "embeddings.word_embeddings.weight", shape: [configuration.vocabularySize, hidden])
        positionEmbeddings = try file.floats(
            "embeddings.position_embeddings.weight", shape: [configuration.maxPositions, hidden])
        tokenTypeEmbeddings = try file.floats(
            "embeddings.token_type_embeddings.weight", shape: [configuration.typeVocabularySize, hidden])
        embeddingNormGamma = try file.floats("embeddings.LayerNorm.weight", shape: [hidden])
        embeddingNormBeta = try file.floats("embeddings.LayerNorm.bias", shape: [hidden])

        layers = try (0..<configuration.layers).map { index in
            let prefix = "encoder.layer.\(index)."
            func tensor(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> {
                try file.floats(prefix + name, shape: shape)
            }
            func linear(_ name: String, outputs: Int, inputs: Int) throws -> LinearWeights {
                LinearWeights(
                    parts: [
                        (
                            try tensor(name + ".weight", [outputs, inputs]), try tensor(name + ".bias", [outputs]),
                            outputs
                        )
                    ],
                    inputs: inputs, kernel: kernel)
            }
            let projections = try ["query", "key", "value"].map { name in
                (
                    weights: try tensor("attention.self.\(name).weight", [hidden, hidden]),
                    bias: try tensor("attention.self.\(name).bias", [hidden]), outputs: hidden
                )
            }
            return Layer(
                queryKeyValue: LinearWeights(parts: projections, inputs: hidden, kernel: kernel),
                attentionOutput: try linear("attention.output.dense", outputs: hidden, inputs: hidden),
                attentionNormGamma: try tensor("attention.output.LayerNorm.weight", [hidden]),
                attentionNormBeta: try tensor("attention.output.LayerNorm.bias", [hidden]),
                intermediate: try linear("intermediate.dense", outputs: intermediate, inputs: hidden),
                output: try linear("output.dense", outputs: hidden, inputs: intermediate),
                outputNormGamma: try tensor("output.LayerNorm.weight", [hidden]),
                outputNormBeta: try tensor("output.LayerNorm.bias", [hidden]))
        }
    }

    /// Bytes allocated beyond the mapped file: packed or stacked copies of the linear layers.
    var ownedBytes: Int {
        layers.reduce(0) { total, layer in
            total + layer.queryKeyValue.ownedBytes + layer.attentionOutput.ownedBytes + layer.intermediate.ownedBytes
                + layer.output.ownedBytes
        }
    }
}
