import Foundation

/// What the gateway records of one request: who, what, where it went, how it went, what it cost.
public struct RequestRecord: Sendable, Equatable, Codable {
    public var id: String
    /// Unix seconds when the request arrived.
    public var time: Double
    public var keyID: String
    public var team: String?
    public var endpoint: String
    public var model: String
    public var deployment: String?
    public var provider: String?
    public var status: Int
    public var latencyMilliseconds: Double
    public var timeToFirstTokenMilliseconds: Double?
    public var inputTokens: Int
    public var outputTokens: Int
    /// Dollars spent; zero for a cache hit.
    public var cost: Double
    /// "hit", "semantic-hit", "miss", "bypass", "refresh" or nil where the cache does not apply.
    public var cacheResult: String?
    public var cacheSimilarity: Double?
    /// Dollars a cache hit saved.
    public var costSaved: Double
    /// Tokens a cache hit saved.
    public var tokensSaved: Int
    public var retries: Int
    public var errorType: String?

    public init(
        id: String = UUID().uuidString, time: Double = Date().timeIntervalSince1970, keyID: String, team: String?,
        endpoint: String, model: String
    ) {
        self.id = id
        self.time = time
        self.keyID = keyID
        self.team = team
        self.endpoint = endpoint
        self.model = model
        status = 200
        latencyMilliseconds = 0
        inputTokens = 0
        outputTokens = 0
        cost = 0
        costSaved = 0
        tokensSaved = 0
        retries = 0
    }
}

/// Receives the record of every finished request.
public protocol RequestRecorder: Sendable {
    func record(_ record: RequestRecord)
}
