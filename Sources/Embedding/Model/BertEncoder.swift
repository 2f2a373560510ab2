import CBLAS
import CNeuralKernels

/// The forward pass of a BERT encoder: packed, unpadded batches.
///
/// The texts of a batch are laid end to end in one matrix, so every linear layer is one matrix product
/// over all tokens (see ``LinearKernel``) and no work is spent on padding; only attention runs per text,
/// as two `cblas_sgemm` per head. A text thus
/// gets the same vector alone or in any batch, up to float rounding in the products.
struct BertEncoder: Sendable {
    let weights: BertWeights

    var configuration: BertConfiguration { weights.configuration }

    /// Runs the encoder over `texts` (token ids, [CLS] ... [SEP]) and hands `body` the last hidden states:
    /// one row of `hiddenSize` floats per token, the rows of text `i` at `ranges[i]`. The states live in
    /// `workspace` and are valid only during `body`.
    ///
    /// - Parameter workspace: scratch memory, one per thread.
    func encode<Result>(
        _ texts: [[Int32]], workspace: EncoderWorkspace,
        _ body: (_ states: UnsafePointer<Float>, _ ranges: [Range<Int>]) -> Result
    ) -> Result {
        var ranges: [Range<Int>] = []
        var total = 0
        for text in texts {
            ranges.append(total..<total + text.count)
            total += text.count
        }
        workspace.reserve(tokens: total, longestText: texts.map(\.count).max() ?? 0)
        let states = workspace.states
        embed(texts, into: states)
        for layer in weights.layers {
            attention(layer, ranges: ranges, tokens: total, workspace: workspace)
            feedForward(layer, tokens: total, workspace: workspace)
        }
        return body(states, ranges)
    }

    // MARK: - Layers

    /// Word + position + token-type embeddings, layer-normalised.
    private func embed(_ texts: [[Int32]], into states: UnsafeMutablePointer<Float>) {
        let hidden = configuration.hiddenSize
        var row = 0
        for text in texts {
            for (position, token) in text.enumerated() {
                let target = states + row * hidden
                let word = weights.wordEmbeddings + Int(token) * hidden
                let place = weights.positionEmbeddings + position * hidden
                for index in 0..<hidden {
                    target[index] = word[index] + place[index] + weights.tokenTypeEmbeddings[index]
                }
                row += 1
            }
        }
        rs_layer_norm_rows(
            states, row, hidden, weights.embeddingNormGamma, weights.embeddingNormBeta, configuration.layerNormEpsilon)
    }

    /// Multi-head self-attention within each text, then the output projection, residual and layer norm.
    private func attention(_ layer: BertWeights.Layer, ranges: [Range<Int>], tokens: Int, workspace: EncoderWorkspace) {
        let hidden = configuration.hiddenSize
        let headSize = configuration.headSize
        let width = 3 * hidden
        let projections = workspace.queryKeyValue
        layer.queryKeyValue.apply(workspace.states, rows: tokens, into: projections, workspace: workspace)

        let context = workspace.context
        let scores = workspace.scores
        let scale = 1 / Float(headSize).squareRoot()
        for range in ranges {
            let length = Int32(range.count)
            let first = projections + range.lowerBound * width
            for head in 0..<configuration.heads {
                let query = first + head * headSize
                let key = first + hidden + head * headSize
                let value = first + 2 * hidden + head * headSize
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, length, length, Int32(headSize), scale, query,
                    Int32(width),
                    key, Int32(width), 0, scores, length)
                rs_softmax_rows(scores, range.count, range.count, range.count)
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, length, Int32(headSize), length, 1, scores, length,
                    value,
                    Int32(width), 0, context + range.lowerBound * hidden + head * headSize, Int32(hidden))
            }
        }
        let output = workspace.output
        layer.attentionOutput.apply(context, rows: tokens, into: output, workspace: workspace)
        addAndNormalize(
            output, into: workspace.states, tokens: tokens, gamma: layer.attentionNormGamma,
            beta: layer.attentionNormBeta)
    }

    /// The intermediate projection with exact GELU, the output projection, residual and layer norm.
    private func feedForward(_ layer: BertWeights.Layer, tokens: Int, workspace: EncoderWorkspace) {
        layer.intermediate.apply(
            workspace.states, rows: tokens, into: workspace.intermediate, workspace: workspace, gelu: true)
        layer.output.apply(workspace.intermediate, rows: tokens, into: workspace.output, workspace: workspace)
        addAndNormalize(
            workspace.output, into: workspace.states, tokens: tokens, gamma: layer.outputNormGamma,
            beta: layer.outputNormBeta)
    }

    // MARK: - Building blocks

    /// states = LayerNorm(states + delta).
    private func addAndNormalize(
        _ delta: UnsafeMutablePointer<Float>, into states: UnsafeMutablePointer<Float>, tokens: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>
    ) {
        let count = tokens * configuration.hiddenSize
        for index in 0..<count { states[index] += delta[index] }
        rs_layer_norm_rows(states, tokens, configuration.hiddenSize, gamma, beta, configuration.layerNormEpsilon)
    }
}
