import Foundation

/// The mock's deterministic content: an answer derived from the question, word-count token usage, and
/// embeddings derived from a hash of the text.
enum MockAnswers {
    /// "Mock answer to: <the last user text>" (at most 40 words of it).
    static func answer(to question: String) -> String {
        let words = question.split(whereSeparator: \.isWhitespace).prefix(40).joined(separator: " ")
        return "Mock answer to: \(words)"
    }

    static func tokens(_ text: String) -> Int {
        max(1, Int((Double(text.split(whereSeparator: \.isWhitespace).count) * 1.3).rounded(.up)))
    }

    /// The answer split into stream pieces, a word and its following space each.
    static func pieces(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == " " {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// A unit vector of `dimension` floats determined by `text` (FNV-1a seeded SplitMix).
    static func embedding(_ text: String, dimension: Int) -> [Double] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            state ^= UInt64(byte)
            state = state &* 0x100_0000_01b3
        }
        var values: [Double] = []
        for _ in 0..<dimension {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            values.append(Double(z >> 11) / Double(1 << 53) * 2 - 1)
        }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return values.map { ($0 / norm * 1e6).rounded() / 1e6 }
    }
}
