import Foundation
import Testing

@testable import Embedding

@Suite struct LocalEmbedderTests {
    let embedder = TestModel.embedder

    @Test func matchesSentenceTransformersOnEveryReferenceSentence() async throws {
        let sentences = Reference.shared.sentences
        let vectors = try await embedder.embed(sentences.map(\.text))
        for (sentence, vector) in zip(sentences, vectors) {
            #expect(vector.count == 384)
            #expect(cosine(vector, sentence.embedding) >= 0.9999, "\(sentence.text.prefix(40))")
        }
    }

    @Test func aBatchGivesTheSameVectorsAsOneTextAtATime() async throws {
        let texts = Reference.shared.sentences.map(\.text)
        let batched = try await embedder.embed(texts)
        for (text, vector) in zip(texts, batched) {
            let alone = embedder.embedOnCurrentThread([text])[0]
            #expect(zip(alone, vector).allSatisfy { abs($0 - $1) < 1e-5 }, "\(text.prefix(40))")
        }
    }

    @Test func vectorsAreNormalised() async throws {
        for vector in try await embedder.embed(["a", "", "Hello world"]) {
            #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        }
        #expect(try await embedder.embed([]).isEmpty)
    }

    @Test func concurrentCallersEachGetTheirOwnVectors() async throws {
        let texts = Reference.shared.sentences.map(\.text)
        let expected = embedder.embedOnCurrentThread(texts)
        try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for round in 0..<60 {
                let index = round % texts.count
                group.addTask { (index, try await embedder.embed([texts[index]])[0]) }
            }
            for try await (index, vector) in group {
                #expect(cosine(vector, expected[index]) > 0.99999)
            }
        }
    }

    @Test func paraphrasesAreCloserThanUnrelatedQuestions() async throws {
        let vectors = try await embedder.embed([
            "How do I reset my password?", "how can I reset my password", "What is the capital of France?",
        ])
        #expect(cosine(vectors[0], vectors[1]) > 0.9)
        #expect(cosine(vectors[0], vectors[2]) < 0.3)
    }
}

@Suite struct ModelFilesTests {
    @Test func aMissingModelNamesTheCommandThatFetchesIt() throws {
        let empty = ModelFiles(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("no-model-here"))
        let error = try #require(throws: EmbeddingError.self) { try LocalEmbedder(files: empty) }
        #expect(error.description.contains("routershift model fetch"))
    }

    @Test func aDamagedModelIsRefusedWithTheSameAdvice() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "damaged-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["vocab.txt", "config.json"] {
            try FileManager.default.copyItem(
                at: TestModel.files.directory.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        try Data(repeating: 7, count: 4096).write(to: directory.appendingPathComponent("model.safetensors"))
        let error = try #require(throws: EmbeddingError.self) {
            try LocalEmbedder(files: ModelFiles(directory: directory))
        }
        #expect(error.description.contains("damaged") && error.description.contains("routershift model fetch"))
        // Without the checksum the header itself is found unreadable.
        #expect(throws: EmbeddingError.self) {
            try LocalEmbedder(files: ModelFiles(directory: directory), verifyChecksum: false)
        }
    }
}

@Suite struct LinearKernelTests {
    /// Both GEMM paths stay exercised: the packed kernel where AVX-512 runs, BLAS elsewhere.
    @Test func packedAndBLASKernelsGiveTheSameVectors() throws {
        let texts = Reference.shared.sentences.map(\.text)
        let blas = try LocalEmbedder(
            files: TestModel.files, threads: 1, maxBatchTokens: 4096, verifyChecksum: false, kernel: .blas)
        let automatic = TestModel.embedder
        for (a, b) in zip(blas.embedOnCurrentThread(texts), automatic.embedOnCurrentThread(texts)) {
            #expect(cosine(a, b) > 0.99999)
        }
    }
}
