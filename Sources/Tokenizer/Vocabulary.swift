import Foundation

/// A WordPiece vocabulary: one token per line of `vocab.txt`, its id the line number.
public struct Vocabulary: Sendable {
    private let ids: [String: Int32]
    private let tokens: [String]
    public let unknown: Int32
    public let classifier: Int32
    public let separator: Int32
    /// The longest token in characters; no longer piece need be tried.
    let longestToken: Int

    public var count: Int { ids.count }

    /// - Throws: ``VocabularyError`` if the file is missing or lacks the special tokens.
    public init(contentsOf url: URL) throws(VocabularyError) {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw VocabularyError(message: "cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(tokens: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }

    /// - Throws: ``VocabularyError`` if `tokens` lacks `[UNK]`, `[CLS]` or `[SEP]`.
    public init(tokens: [String]) throws(VocabularyError) {
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        var longest = 0
        for (index, token) in tokens.enumerated() where !token.isEmpty {
            let token = token.hasSuffix("\r") ? String(token.dropLast()) : token
            if ids[token] == nil { ids[token] = Int32(index) }
            longest = max(longest, token.unicodeScalars.count)
        }
        guard let unknown = ids["[UNK]"], let classifier = ids["[CLS]"], let separator = ids["[SEP]"] else {
            throw VocabularyError(message: "vocabulary lacks [UNK], [CLS] or [SEP]")
        }
        self.ids = ids
        self.tokens = tokens.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        self.unknown = unknown
        self.classifier = classifier
        self.separator = separator
        longestToken = longest
    }

    public func id(of token: String) -> Int32? { ids[token] }

    /// The token with this id, or nil outside the vocabulary.
    public func token(_ id: Int32) -> String? { tokens.indices.contains(Int(id)) ? tokens[Int(id)] : nil }
}

/// A vocabulary file that cannot be read or lacks the special tokens.
public struct VocabularyError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
