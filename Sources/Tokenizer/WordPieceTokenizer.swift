/// BERT's WordPiece tokenizer: the basic tokenizer's words, each split greedily into the longest
/// vocabulary pieces (continuations prefixed `##`), framed by [CLS] and [SEP] and truncated.
///
/// ```swift
/// let tokenizer = WordPieceTokenizer(vocabulary: try Vocabulary(contentsOf: vocabURL))
/// tokenizer.encode("How do I reset my password?")   // [101, 2129, 2079, 1045, 25141, 2026, 20786, 1029, 102]
/// ```
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: Vocabulary
    /// Token ids per text, [CLS] and [SEP] included.
    public let maxLength: Int
    /// A word longer than this many characters becomes [UNK] without being split.
    public let maxWordLength = 100
    private let basic = BasicTokenizer()

    public init(vocabulary: Vocabulary, maxLength: Int = 256) {
        self.vocabulary = vocabulary
        self.maxLength = max(maxLength, 2)
    }

    /// The token ids of `text`: [CLS], at most `maxLength - 2` pieces, [SEP].
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [vocabulary.classifier]
        let limit = maxLength - 1
        for word in basic.words(text) {
            appendPieces(of: word, to: &ids)
            if ids.count >= limit { break }
        }
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        ids.append(vocabulary.separator)
        return ids
    }

    /// Greedy longest-match-first; a word with a part no piece matches becomes a single [UNK].
    private func appendPieces(of word: String, to ids: inout [Int32]) {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count <= maxWordLength else {
            ids.append(vocabulary.unknown)
            return
        }
        var pieces: [Int32] = []
        var start = 0
        while start < scalars.count {
            var end = min(scalars.count, start + vocabulary.longestToken)
            var match: Int32?
            while end > start {
                var piece = start > 0 ? "##" : ""
                piece.unicodeScalars.append(contentsOf: scalars[start..<end])
                if let id = vocabulary.id(of: piece) {
                    match = id
                    break
                }
                end -= 1
            }
            guard let match else {
                ids.append(vocabulary.unknown)
                return
            }
            pieces.append(match)
            start = end
        }
        ids.append(contentsOf: pieces)
    }
}
