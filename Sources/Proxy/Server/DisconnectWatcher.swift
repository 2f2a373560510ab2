import ConnectionEvents
import NIOCore
import Synchronization

/// Cancels the work of a request when its client goes away, so the upstream call it waits on is
/// cancelled too.
///
/// One ``InputClosedHandler`` per connection, however many requests it carries; keep-alive is unaffected.
final class DisconnectWatcher: Sendable {
    private let connections = Mutex<[ObjectIdentifier: [Int: @Sendable () -> Void]]>([:])
    private let nextToken = Atomic<Int>(0)

    struct Registration: Sendable {
        fileprivate let connection: ObjectIdentifier
        fileprivate let token: Int
    }

    /// Calls `onClose` if `channel` closes before ``unwatch(_:)``.
    func watch(_ channel: any Channel, onClose: @escaping @Sendable () -> Void) -> Registration {
        let connection = ObjectIdentifier(channel)
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        let isFirst = connections.withLock { table in
            let isFirst = table[connection] == nil
            table[connection, default: [:]][token] = onClose
            return isFirst
        }
        if isFirst { channel.whenClientGoesAway { [self] in closed(connection) } }
        return Registration(connection: connection, token: token)
    }

    private func closed(_ connection: ObjectIdentifier) {
        let callbacks = connections.withLock { $0.removeValue(forKey: connection).map { Array($0.values) } ?? [] }
        callbacks.forEach { $0() }
    }

    func unwatch(_ registration: Registration) {
        connections.withLock { _ = $0[registration.connection]?.removeValue(forKey: registration.token) }
    }

    /// Runs `body` in a task that is cancelled if `channel` closes first.
    func run<Value: Sendable>(on channel: any Channel, _ body: @escaping @Sendable () async throws -> Value)
        async throws -> Value
    {
        let task = Task { try await body() }
        let registration = watch(channel) { task.cancel() }
        defer { unwatch(registration) }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}
