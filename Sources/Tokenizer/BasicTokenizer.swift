import Foundation

/// BERT's basic tokenizer for uncased models: cleans the text, splits CJK ideographs and punctuation into
/// words of their own, lower-cases and strips accents (NFD, then dropping combining marks), and splits on
/// whitespace. The same rules as `BertTokenizer` in transformers and `BertNormalizer` plus
/// `BertPreTokenizer` in tokenizers, which sentence-transformers uses for all-MiniLM-L6-v2.
struct BasicTokenizer {
    /// The words of `text`, in order.
    func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty {
                words.append(contentsOf: splitOnPunctuation(normalize(String(current))))
                current = String.UnicodeScalarView()
            }
        }
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) { continue }
            if isWhitespace(scalar) {
                flush()
            } else if isCJK(scalar) {
                flush()
                // Compatibility ideographs decompose to unified ones, so they are normalised too.
                words.append(normalize(String(scalar)))
            } else {
                current.append(scalar)
            }
        }
        flush()
        return words
    }

    /// Lower-cases, then decomposes (NFD) and drops non-spacing marks: "Crème" becomes "creme".
    private func normalize(_ word: String) -> String {
        let decomposed = word.lowercased().decomposedStringWithCanonicalMapping
        var result = String.UnicodeScalarView()
        for scalar in decomposed.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
            result.append(scalar)
        }
        return String(result)
    }

    /// Each punctuation character becomes a word of its own.
    private func splitOnPunctuation(_ word: String) -> [String] {
        var pieces: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in word.unicodeScalars {
            if isPunctuation(scalar) {
                if !current.isEmpty { pieces.append(String(current)) }
                current = String.UnicodeScalarView()
                pieces.append(String(scalar))
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { pieces.append(String(current)) }
        return pieces
    }

    /// Space separators and the other White_Space characters that survive cleaning (line and paragraph
    /// separators), on which both the Python and the Rust tokenizers split.
    private func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// Control and format characters (Cc, Cf, Co, Cn, Cs) are removed, but tab, newline and carriage return
    /// count as whitespace.
    private func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .privateUse, .unassigned, .surrogate: return true
        default: return false
        }
    }

    /// ASCII symbols such as `$`, `^` and backquote count as punctuation, as in BERT, besides every P* category.
    private func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value)
            || (123...126).contains(value)
        {
            return true
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks; Hiragana, Katakana and Hangul are not among them, as in BERT.
    private func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            true
        default:
            false
        }
    }
}
