import Foundation

/// What the gateway records of one request: who, what, where it went, how it went, what it cost. One row
/// of the request log (`request_log`), and one object of `/admin/logs` under the same snake_case names.
public struct RequestRecord: Sendable, Equatable, Codable {
    public var id: String
    /// The request's `x-request-id` (``RequestID``); nil for work done outside a request (async tasks).
    public var requestID: String?
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
    /// The W3C trace id of the request's server span, when traces are exported.
    public var traceID: String?
    /// The request's trace, which the finished record annotates; not stored.
    var trace: RequestTrace?

    enum CodingKeys: String, CodingKey {
        case id, time
        case requestID = "request_id"
        case keyID = "key_id"
        case team, endpoint, model, deployment, provider, status
        case latencyMilliseconds = "latency_ms"
        case timeToFirstTokenMilliseconds = "ttft_ms"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cost
        case cacheResult = "cache_result"
        case cacheSimilarity = "cache_similarity"
        case costSaved = "cost_saved"
        case tokensSaved = "tokens_saved"
        case retries
        case errorType = "error_type"
        case traceID = "trace_id"
    }

    public init(
        id: String = UUID().uuidString, time: Double, keyID: String, team: String?,
        endpoint: String, model: String
    ) {
        self.id = id
        requestID = RequestID.current
        trace = RequestTrace.current
        traceID = trace?.traceID
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

extension RequestRecord {
    /// This record as a request that ended in `error` (refused, or failed upstream).
    func refused(_ error: any Error, started: RequestStart) -> RequestRecord {
        var record = self
        let failure =
            error is CancellationError
            ? UpstreamFailure.cancelled.gatewayError
            : error as? GatewayError ?? GatewayError(.internalError, "\(error)")
        // A client that went away is logged 499 (as nginx does), whatever kind of request it made.
        record.status = failure.code == "cancelled" ? 499 : Int(failure.status.code)
        record.errorType = failure.code ?? failure.kind.rawValue
        record.latencyMilliseconds = started.elapsedMilliseconds()
        return record
    }
}

/// Receives the record of every finished request.
public protocol RequestRecorder: Sendable {
    func record(_ record: RequestRecord)
}
