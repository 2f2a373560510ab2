import Testing

@testable import Embedding

@Suite struct RotatedQuantizerTests {
    /// The encoder's real token states keep their direction through 4 bits a component: a unit Gaussian coded by
    /// the 16-level Lloyd-Max quantiser keeps cosine 1 / sqrt(1.0095), about 0.995, with its original.
    @Test func realTokenStatesKeepTheirDirection() async throws {
        let encoded = try await TestModel.embedder.encode(Reference.shared.sentences.map(\.text))
        let dimension = TestModel.embedder.dimension
        let quantizer = try #require(RotatedQuantizer(dimension: dimension))
        #expect(quantizer.bytesPerRow == 198)
        var worst: Float = 1
        var total: Float = 0
        var rows = 0
        for text in encoded {
            for position in text.tokenIDs.indices {
                let row = text.tokenStates[position * dimension..<(position + 1) * dimension]
                var bytes: [UInt8] = []
                quantizer.encode(row, into: &bytes)
                #expect(bytes.count == quantizer.bytesPerRow)
                var decoded: [Float] = []
                bytes.withUnsafeBytes { quantizer.decode($0, into: &decoded) }
                let similarity = cosine(Array(row), decoded)
                worst = min(worst, similarity)
                total += similarity
                rows += 1
            }
        }
        #expect(rows > 100)
        #expect(total / Float(rows) > 0.994, "mean cosine \(total / Float(rows))")
        #expect(worst > 0.99, "worst cosine \(worst)")
    }

    /// One component carrying nearly all of a row's energy, as a few hidden-state dimensions do, is spread by
    /// the rotation instead of leaving every other component at zero.
    @Test func anOutlierComponentIsSpreadByTheRotation() throws {
        let quantizer = try #require(RotatedQuantizer(dimension: 384))
        var generator = SplitMix(seed: 11)
        var row = (0..<384).map { _ in generator.nextFloat() * 0.01 }
        row[17] = 40
        var bytes: [UInt8] = []
        quantizer.encode(row[...], into: &bytes)
        var decoded: [Float] = []
        bytes.withUnsafeBytes { quantizer.decode($0, into: &decoded) }
        #expect(cosine(row, decoded) > 0.99)
        #expect(abs(decoded.map { $0 * $0 }.reduce(0, +) - 1) < 0.05, "decoded rows are unit length")
    }

    @Test func aZeroRowDecodesToZero() throws {
        let quantizer = try #require(RotatedQuantizer(dimension: 8))
        var bytes: [UInt8] = []
        quantizer.encode([Float](repeating: 0, count: 8)[...], into: &bytes)
        var decoded: [Float] = []
        bytes.withUnsafeBytes { quantizer.decode($0, into: &decoded) }
        #expect(decoded == [Float](repeating: 0, count: 8))
        #expect(RotatedQuantizer(dimension: 7) == nil, "two components share a byte")
    }
}
