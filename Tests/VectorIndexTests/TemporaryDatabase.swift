import Foundation
import GRDB

/// A WAL database in a fresh temporary directory, removed when the value is released.
final class TemporaryDatabase {
    let directory: URL
    let path: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vector-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("index.sqlite").path
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A new connection pool on the file, configured as the product configures it.
    func open() throws -> DatabasePool {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return try DatabasePool(path: path, configuration: configuration)
    }
}
