import CBLAS
import Embedding
import Foundation
import Tokenizer

/// One side of a pair as the verifier sees it: the text, its tokens and their last hidden states, and the
/// pooled vector.
struct VerifierInput: Sendable {
    let text: String
    let encoded: EncodedText
}

/// The features of a pair of prompts that the verifier scores: the cosine of the pooled vectors; how well
/// each token of one text is matched by some token of the other (from the encoder's token states); lexical
/// cues the embedding blurs (a negation, numbers or names on one side only, word, bigram and character
/// trigram overlap, length, content words on one side only); and the element-wise product and absolute
/// difference of the pooled vectors.
enum VerifierFeatures {
    /// Features from the encoder: the cosine and the token alignment; then the element-wise product and
    /// absolute difference of the pooled vectors follow the lexical features.
    static let encoderNames = [
        "cosine", "align_precision", "align_recall", "align_f1", "align_min_content", "align_min_all",
        "align_content_precision", "align_content_recall", "align_unmatched_050", "align_unmatched_065",
        "align_unmatched_080", "align_content_p10", "align_content_p25", "content_pooled_cosine",
        "max_pooled_cosine", "token_id_jaccard",
    ]
    static let lexicalNames = [
        "negation_mismatch", "number_mismatch", "name_mismatch", "content_jaccard", "length_ratio", "word_jaccard",
        "bigram_jaccard", "question_word_mismatch", "first_word_mismatch", "word_difference_ratio",
        "same_words_reordered", "char_trigram_jaccard", "number_jaccard", "name_jaccard", "last_word_mismatch",
        "unique_content_min", "unique_content_max", "character_length_ratio", "negation_either",
    ]
    static var scalarNames: [String] { encoderNames + lexicalNames }

    static func names(dimension: Int) -> [String] {
        scalarNames + (0..<dimension).map { "product_\($0)" } + (0..<dimension).map { "difference_\($0)" }
    }

    /// The feature vector of (query, candidate), `scalarNames.count + 2 * dimension` floats.
    static func compute(_ query: VerifierInput, _ candidate: VerifierInput, vocabulary: Vocabulary) -> [Float] {
        combine(
            encoder: encoderFeatures(query.encoded, candidate.encoded, vocabulary: vocabulary),
            lexical: lexical(query.text, candidate.text))
    }

    /// What depends on the encoder alone: the cosine, the alignment, the product and the difference,
    /// `encoderNames.count + 2 * dimension` floats (what training keeps between runs).
    static func encoderFeatures(_ a: EncodedText, _ b: EncodedText, vocabulary: Vocabulary) -> [Float] {
        var features = [dot(a.vector, b.vector)]
        features += alignment(a, b, vocabulary: vocabulary, dimension: a.vector.count)
        for index in a.vector.indices { features.append(a.vector[index] * b.vector[index]) }
        for index in a.vector.indices { features.append(abs(a.vector[index] - b.vector[index])) }
        return features
    }

    /// The full row from its two parts, in the order of ``names(dimension:)``.
    static func combine(encoder: [Float], lexical: [Float]) -> [Float] {
        Array(encoder[..<encoderNames.count]) + lexical + encoder[encoderNames.count...]
    }

    // MARK: - Token alignment

    /// Precision, recall, F1 of best-match token cosines, and the minimum over content tokens and over all
    /// tokens ([CLS] and [SEP] left out); then over content tokens only: precision and recall, the share whose
    /// best match is under 0.5, 0.65 and 0.8, the 10th and 25th percentile of best matches; the cosines of the
    /// mean-pooled content states and of the max-pooled states, and the Jaccard overlap of content token ids.
    private static func alignment(_ a: EncodedText, _ b: EncodedText, vocabulary: Vocabulary, dimension: Int) -> [Float]
    {
        let left = tokens(a, vocabulary: vocabulary, dimension: dimension)
        let right = tokens(b, vocabulary: vocabulary, dimension: dimension)
        let (n, m) = (left.content.count, right.content.count)
        guard n > 0, m > 0 else { return [Float](repeating: 0, count: encoderNames.count - 1) }
        // Every token pair's cosine in one product: similarity[i * m + j] = left_i . right_j.
        var similarity = [Float](repeating: 0, count: n * m)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(m), Int32(dimension), 1, left.states,
            Int32(dimension), right.states, Int32(dimension), 0, &similarity, Int32(m))
        var forward = [Float](repeating: -.infinity, count: n)
        var backward = [Float](repeating: -.infinity, count: m)
        for i in 0..<n {
            for j in 0..<m {
                let value = similarity[i * m + j]
                forward[i] = max(forward[i], value)
                backward[j] = max(backward[j], value)
            }
        }
        let precision = forward.reduce(0, +) / Float(n)
        let recall = backward.reduce(0, +) / Float(m)
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        let all = forward + backward
        let contentScores = zip(all, left.content + right.content).filter(\.1).map(\.0)
        let leftContent = zip(forward, left.content).filter(\.1).map(\.0)
        let rightContent = zip(backward, right.content).filter(\.1).map(\.0)
        let scores = (contentScores.isEmpty ? all : contentScores).sorted()
        func mean(_ values: [Float], otherwise: Float) -> Float {
            values.isEmpty ? otherwise : values.reduce(0, +) / Float(values.count)
        }
        func unmatched(_ limit: Float) -> Float { Float(scores.filter { $0 < limit }.count) / Float(scores.count) }
        func percentile(_ share: Double) -> Float { scores[Int(Double(scores.count - 1) * share)] }
        return [
            precision, recall, f1, scores.first ?? 0, all.min() ?? 0,
            mean(leftContent, otherwise: precision), mean(rightContent, otherwise: recall),
            unmatched(0.5), unmatched(0.65), unmatched(0.8), percentile(0.1), percentile(0.25),
            pooledCosine(left, right, dimension: dimension, contentOnly: true),
            pooledCosine(left, right, dimension: dimension, contentOnly: false),
            tokenJaccard(a, b, vocabulary: vocabulary),
        ]
    }

    /// The cosine of the two texts' token states pooled: the mean of the content tokens, or the element-wise
    /// maximum of all tokens.
    private static func pooledCosine(
        _ left: (states: [Float], content: [Bool]), _ right: (states: [Float], content: [Bool]), dimension: Int,
        contentOnly: Bool
    ) -> Float {
        func pool(_ side: (states: [Float], content: [Bool])) -> [Float] {
            var pooled = [Float](repeating: contentOnly ? 0 : -.infinity, count: dimension)
            var used = false
            for token in side.content.indices where !contentOnly || side.content[token] {
                used = true
                for index in 0..<dimension {
                    let value = side.states[token * dimension + index]
                    pooled[index] = contentOnly ? pooled[index] + value : max(pooled[index], value)
                }
            }
            return used ? pooled : [Float](repeating: 0, count: dimension)
        }
        let (x, y) = (pool(left), pool(right))
        let norms = (dot(x, x) * dot(y, y)).squareRoot()
        return norms > 0 ? dot(x, y) / norms : 0
    }

    /// The Jaccard overlap of the two texts' content word-piece ids.
    private static func tokenJaccard(_ a: EncodedText, _ b: EncodedText, vocabulary: Vocabulary) -> Float {
        func ids(_ text: EncodedText) -> Set<Int32> {
            Set(
                text.tokenIDs.filter { id in
                    guard id != vocabulary.classifier, id != vocabulary.separator, let token = vocabulary.token(id)
                    else { return false }
                    return token.contains { $0.isLetter || $0.isNumber } && !stopWords.contains(token)
                })
        }
        let (x, y) = (ids(a), ids(b))
        let union = x.union(y)
        return union.isEmpty ? 1 : Float(x.intersection(y).count) / Float(union.count)
    }

    /// The normalised states of a text's tokens ([CLS] and [SEP] left out) as one row-major matrix, and
    /// whether each token carries content (not a stop word or punctuation).
    private static func tokens(_ text: EncodedText, vocabulary: Vocabulary, dimension: Int) -> (
        states: [Float], content: [Bool]
    ) {
        var states: [Float] = []
        var content: [Bool] = []
        states.reserveCapacity(text.tokenStates.count)
        for (position, id) in text.tokenIDs.enumerated() where id != vocabulary.classifier && id != vocabulary.separator
        {
            let row = text.tokenStates[position * dimension..<(position + 1) * dimension]
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            states.append(contentsOf: norm > 0 ? row.map { $0 / norm } : Array(row))
            let token = vocabulary.token(id).map { $0.hasPrefix("##") ? String($0.dropFirst(2)) : $0 } ?? ""
            content.append(token.contains { $0.isLetter || $0.isNumber } && !stopWords.contains(token))
        }
        return (states, content)
    }

    // MARK: - Lexical cues

    static func lexical(_ a: String, _ b: String) -> [Float] {
        let wordsA = words(a)
        let wordsB = words(b)
        let negation = hasNegation(a, wordsA) != hasNegation(b, wordsB)
        let numbersA = Set(wordsA.filter { $0.first?.isNumber == true })
        let numbersB = Set(wordsB.filter { $0.first?.isNumber == true })
        let contentA = Set(wordsA.filter { !stopWords.contains($0) })
        let contentB = Set(wordsB.filter { !stopWords.contains($0) })
        let union = contentA.union(contentB)
        let contentJaccard: Float =
            union.isEmpty ? 1 : Float(contentA.intersection(contentB).count) / Float(union.count)
        let length = Float(min(wordsA.count, wordsB.count)) / Float(max(wordsA.count, wordsB.count, 1))
        let (setA, setB) = (Set(wordsA), Set(wordsB))
        let allWords = setA.union(setB)
        let wordJaccard = allWords.isEmpty ? 1 : Float(setA.intersection(setB).count) / Float(allWords.count)
        let difference = allWords.isEmpty ? 0 : Float(setA.symmetricDifference(setB).count) / Float(allWords.count)
        let bigramsA = Set(zip(wordsA, wordsA.dropFirst()).map { $0 + " " + $1 })
        let bigramsB = Set(zip(wordsB, wordsB.dropFirst()).map { $0 + " " + $1 })
        let bigrams = bigramsA.union(bigramsB)
        let bigramJaccard = bigrams.isEmpty ? 1 : Float(bigramsA.intersection(bigramsB).count) / Float(bigrams.count)
        let onlyA = contentA.subtracting(contentB).count
        let onlyB = contentB.subtracting(contentA).count
        let questionA = wordsA.first { questionWords.contains($0) }
        let questionB = wordsB.first { questionWords.contains($0) }
        let flags: [Bool] = [
            negation, numbersA != numbersB, names(a) != names(b),
        ]
        let overlaps: [Float] = [contentJaccard, length, wordJaccard, bigramJaccard]
        let mismatches: [Bool] = [
            questionA != questionB, wordsA.first != wordsB.first,
        ]
        let reordered: Float = wordsA != wordsB && wordsA.sorted() == wordsB.sorted() ? 1 : 0
        let extras: [Float] = [
            jaccard(trigrams(a), trigrams(b)), jaccard(numbersA, numbersB), jaccard(names(a), names(b)),
            wordsA.last == wordsB.last ? 0 : 1, Float(min(onlyA, onlyB)), Float(max(onlyA, onlyB)),
            Float(min(a.count, b.count)) / Float(max(a.count, b.count, 1)),
            hasNegation(a, wordsA) || hasNegation(b, wordsB) ? 1 : 0,
        ]
        return flags.map { $0 ? 1 : 0 } + overlaps + mismatches.map { $0 ? 1 : 0 } + [difference, reordered] + extras
    }

    /// |a ∩ b| / |a ∪ b|, 1 when both are empty.
    private static func jaccard<Element: Hashable>(_ a: Set<Element>, _ b: Set<Element>) -> Float {
        let union = a.union(b)
        return union.isEmpty ? 1 : Float(a.intersection(b).count) / Float(union.count)
    }

    /// The character trigrams of the lower-cased text, spaces folded.
    private static func trigrams(_ text: String) -> Set<String> {
        let characters = Array(words(text).joined(separator: " "))
        guard characters.count >= 3 else { return [String(characters)] }
        return Set((0...(characters.count - 3)).map { String(characters[$0..<$0 + 3]) })
    }

    static let questionWords: Set<String> = [
        "what", "how", "why", "when", "where", "who", "which", "whom", "whose", "is", "are", "can", "do", "does",
        "should",
        "will", "would", "could",
    ]

    /// Lower-cased words and numbers.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "'" || $0 == ".") }
            .map { String($0.trimmingCharacters(in: CharacterSet(charactersIn: "'."))) }
            .filter { !$0.isEmpty }
    }

    private static func hasNegation(_ text: String, _ words: [String]) -> Bool {
        words.contains { negations.contains($0) || $0.hasSuffix("n't") }
    }

    /// Capitalised words after the first word: names of places, people, products.
    private static func names(_ text: String) -> Set<String> {
        let tokens = text.split { !($0.isLetter || $0.isNumber) }
        return Set(tokens.dropFirst().filter { $0.first?.isUppercase == true && $0 != "I" }.map { $0.lowercased() })
    }

    private static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Float = 0
        for index in a.indices { sum += a[index] * b[index] }
        return sum
    }

    static let negations: Set<String> = [
        "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without", "cannot", "cant",
        "dont",
        "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "shouldnt", "wouldnt", "couldnt",
    ]

    static let stopWords: Set<String> = [
        "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "about", "as",
        "into", "from",
        "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "have", "has", "had", "i", "you",
        "he", "she",
        "it", "we", "they", "me", "my", "your", "his", "her", "its", "our", "their", "this", "that", "these", "those",
        "what",
        "which", "who", "whom", "how", "why", "when", "where", "can", "could", "should", "would", "will", "shall",
        "may", "might",
        "must", "there", "some", "any", "so", "than", "too", "very", "just", "s", "t", "?", ".", ",",
    ]
}
