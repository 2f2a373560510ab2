import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Every virtual key in memory, by secret hash and by id, so that authenticating a request reads no database:
/// a lookup is a dictionary read under a lock, where it was a SQLite read on a cooperative thread.
///
/// Loaded at start and kept current from the store's ``ChangeFeed``: at once after a change this gateway
/// makes (``refresh()``), and within a second for a change made elsewhere (`routershift keys` in another
/// process) by ``KeyDirectoryService``. Revoked keys stay in the directory, so they are refused as revoked
/// rather than as unknown.
public final class KeyDirectory: Sendable {
    private struct Snapshot {
        var byHash: [String: VirtualKey] = [:]
        var byID: [String: VirtualKey] = [:]
        /// The newest change the snapshot holds.
        var applied: Int64 = 0

        mutating func put(_ key: VirtualKey) {
            if let previous = byID[key.id], previous.hash != key.hash { byHash[previous.hash] = nil }
            byID[key.id] = key
            byHash[key.hash] = key
        }

        mutating func remove(id: String) {
            guard let previous = byID.removeValue(forKey: id) else { return }
            byHash[previous.hash] = nil
        }
    }

    private let store: any KeyFeed
    private let snapshot: Mutex<Snapshot>

    private init(store: any KeyFeed, snapshot: Snapshot) {
        self.store = store
        self.snapshot = Mutex(snapshot)
    }

    /// Every key of `store`, and where its change feed stands, read in one transaction.
    public static func load(from store: any KeyFeed) async throws -> KeyDirectory {
        KeyDirectory(store: store, snapshot: try await Self.snapshot(store))
    }

    public func key(hash: String) -> VirtualKey? { snapshot.withLock { $0.byHash[hash] } }

    public func key(id: String) -> VirtualKey? { snapshot.withLock { $0.byID[id] } }

    /// Every key, revoked ones included, in no order.
    public var all: [VirtualKey] { snapshot.withLock { Array($0.byID.values) } }

    /// The newest change of the feed the directory holds.
    public var appliedChange: Int64 { snapshot.withLock { $0.applied } }

    /// Applies the changes made since the last refresh; returns how many keys it read again. When changes the
    /// directory never saw were pruned from the feed, it reads every key again.
    ///
    /// Concurrent refreshes are safe: a refresh whose read is older than what another one applied is dropped.
    @discardableResult
    public func refresh() async throws -> Int {
        guard let update = try await store.keysChanged(after: appliedChange) else {
            // Replaced whatever it holds: a concurrent refresh that applied more is caught up by the next one,
            // which reads the feed from this reload's point.
            let reloaded = try await Self.snapshot(store)
            snapshot.withLock { $0 = reloaded }
            return reloaded.byID.count
        }
        snapshot.withLock { current in
            guard update.through > current.applied else { return }
            for (id, key) in update.keys {
                if let key { current.put(key) } else { current.remove(id: id) }
            }
            current.applied = update.through
        }
        return update.keys.count
    }

    private static func snapshot(_ store: any KeyFeed) async throws -> Snapshot {
        let (through, keys) = try await store.allKeys()
        var snapshot = Snapshot()
        snapshot.applied = through
        for key in keys { snapshot.put(key) }
        return snapshot
    }
}

/// Keeps a ``KeyDirectory`` current with changes other processes make, once a second, and prunes the change
/// feed of changes older than a week once an hour.
struct KeyDirectoryService: Service {
    let directory: KeyDirectory
    let feed: any ChangeFeed
    let clock: any GatewayClock
    let logger: Logger
    static let interval: Duration = .seconds(1)
    static let retention = 7 * 86_400.0

    func run() async throws {
        var ticks = 0
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: Self.interval)
            do {
                try await directory.refresh()
                if ticks % 3_600 == 0 { _ = try await feed.pruneChanges(before: clock.wallTime() - Self.retention) }
                if failing { logger.info("key directory caught up with the store") }
                failing = false
            } catch {
                // Logged once per outage: the keys in memory keep serving until the store answers again.
                if !failing { logger.error("key directory could not read the store", metadata: ["error": "\(error)"]) }
                failing = true
            }
            ticks += 1
        }
    }
}
