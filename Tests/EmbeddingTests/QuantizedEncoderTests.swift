import Testing

@testable import Embedding

@Suite struct QuantizedEncoderTests {
    @Test func autoIsInt8WhereTheCPUHasAnInt8Kernel() throws {
        #expect(EmbeddingPrecision.automatic == (Int8Kernel.available.isEmpty ? .fp32 : .int8))
        #expect(EmbeddingPrecision.fp32.resolved == .fp32)
        let fp32 = try LocalEmbedder(files: TestModel.files, verifyChecksum: false, precision: .fp32)
        #expect(fp32.precision == .fp32)
        #expect(fp32.identity == "local \(TestModel.files.directory.standardizedFileURL.lastPathComponent) fp32")
    }

    /// Every int8 kernel stays within cosine 0.995 of sentence-transformers' fp32 vectors on each reference
    /// sentence, and is really quantised (its vectors are not fp32's).
    @Test(arguments: Int8Kernel.available)
    func int8VectorsMatchTheFP32Reference(kernel: Int8Kernel) throws {
        let embedder = try LocalEmbedder(
            files: TestModel.files, threads: 1, maxBatchTokens: 4096, verifyChecksum: false,
            kernel: .int8(kernel))
        #expect(embedder.precision == .int8)
        #expect(embedder.identity?.hasSuffix(" int8") == true)
        let sentences = Reference.shared.sentences
        let vectors = embedder.embedOnCurrentThread(sentences.map(\.text))
        let fp32 = TestModel.embedder.embedOnCurrentThread(sentences.map(\.text))
        for (sentence, vector) in zip(sentences, vectors) {
            let similarity = cosine(vector, sentence.embedding)
            #expect(similarity >= 0.995, "\(sentence.text.prefix(40)): cosine \(similarity)")
        }
        #expect(zip(vectors, fp32).contains { cosine($0, $1) < 0.9999 }, "int8 gave fp32's vectors")
    }

    /// One layer against fp32 BLAS on random weights, at every row count the kernels' tails handle.
    @Test(arguments: Int8Kernel.available)
    func anInt8LayerComputesTheProductToQuantisationError(kernel: Int8Kernel) {
        let (outputs, inputs) = (96, 68)
        var generator = SplitMix(seed: 7)
        let weights = (0..<outputs * inputs).map { _ in generator.nextFloat() * 0.2 }
        let bias = (0..<outputs).map { _ in generator.nextFloat() }
        let workspace = EncoderWorkspace(configuration: .miniLM)
        workspace.reserve(tokens: 16, longestText: 16)
        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                let part = (weights: weights.baseAddress!, bias: bias.baseAddress!, outputs: outputs)
                let reference = LinearWeights(parts: [part], inputs: inputs, kernel: .blas)
                let quantized = LinearWeights(
                    parts: [part], inputs: inputs, kernel: .int8(kernel))
                #expect(quantized.kernel == .int8(kernel))
                for rows in 1...13 {
                    let input = (0..<rows * inputs).map { _ in generator.nextFloat() * 3 }
                    var want = [Float](repeating: 0, count: rows * outputs)
                    var got = want
                    reference.apply(input, rows: rows, into: &want, workspace: workspace)
                    quantized.apply(input, rows: rows, into: &got, workspace: workspace)
                    let error = zip(want, got).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                    let size = want.map { $0 * $0 }.reduce(0, +)
                    #expect((error / size).squareRoot() < 0.02, "\(rows) rows: relative error")
                }
            }
        }
    }

    /// The kernels compute the same integers, so on a CPU with both their vectors agree to float rounding.
    @Test(.enabled(if: Int8Kernel.available.count > 1, "needs a CPU with AVX-512 VNNI"))
    func everyInt8KernelGivesTheSameVectors() throws {
        let texts = Reference.shared.sentences.map(\.text)
        let vectors = try Int8Kernel.available.map { kernel in
            try LocalEmbedder(
                files: TestModel.files, threads: 1, maxBatchTokens: 4096, verifyChecksum: false, kernel: .int8(kernel)
            ).embedOnCurrentThread(texts)
        }
        for (a, b) in zip(vectors[0], vectors[1]) { #expect(cosine(a, b) > 0.99999) }
    }

    @Test func anInt8LayerWithShapesTheKernelCannotTakeStaysFP32() {
        let weights = [Float](repeating: 0.5, count: 20 * 8)
        let bias = [Float](repeating: 0, count: 20)
        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                let layer = LinearWeights(
                    parts: [(weights.baseAddress!, bias.baseAddress!, 20)], inputs: 8, kernel: .int8(.avx2))
                #expect(layer.kernel == LinearKernel.automatic)
            }
        }
    }
}

/// A small deterministic generator of floats in [-1, 1).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func nextFloat() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }
}
