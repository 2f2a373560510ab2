import Hummingbird
import NIOCore

/// Who is calling: the operator with the master key, or a client with a virtual key.
public enum Principal: Sendable {
    case master
    case key(VirtualKey)

    public func allows(model: String) -> Bool {
        switch self {
        case .master: true
        case .key(let key): key.allows(model: model)
        }
    }

    /// The key's id for logs and cache scope ("master" for the master key).
    /// Whether the principal's semantic hits may be audited: not for a key created with `cache_audit: false`.
    public var allowsCacheAudit: Bool {
        if case .key(let key) = self { return key.cacheAudit != false }
        return true
    }

    public var isMaster: Bool {
        if case .master = self { return true }
        return false
    }

    public var keyID: String {
        switch self {
        case .master: "master"
        case .key(let key): key.id
        }
    }

    public var team: String? {
        switch self {
        case .master: nil
        case .key(let key): key.team
        }
    }
}

/// The request context of every gateway route: Hummingbird's core context, the connection (to notice a
/// client going away), and the caller once authenticated.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
