/// Sentence-transformers pooling for all-MiniLM-L6-v2: the mean of a text's token states (every token is
/// real: batches are packed, not padded), then L2 normalisation.
enum MeanPooling {
    static func pool(_ states: UnsafePointer<Float>, rows: Range<Int>, width: Int) -> [Float] {
        var sum = [Float](repeating: 0, count: width)
        for row in rows {
            let state = states + row * width
            for index in 0..<width { sum[index] += state[index] }
        }
        let inverseCount = 1 / Float(rows.count)
        return normalized(sum.map { $0 * inverseCount })
    }
}
