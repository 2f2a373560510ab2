/// How the mock upstream misbehaves, for trials, tests and benchmarks.
///
/// Every option also has a per-request form, so one mock can play several deployments: a directive in the
/// model name (`mock@fail500`, `mock@hang`, `mock@latency250`, `mock@chunkdelay100`, `mock@disconnect`,
/// `mock@status429`) or a
/// header (`x-mock-status`, `x-mock-latency-ms`, `x-mock-hang`, `x-mock-disconnect`).
public struct MockOptions: Sendable {
    /// Added before every answer, in milliseconds.
    public var latencyMilliseconds: Double = 0
    /// Between stream chunks, in milliseconds.
    public var chunkDelayMilliseconds: Double = 0
    /// The share of requests answered with `errorStatus`.
    public var errorRate: Double = 0
    public var errorStatus = 500
    /// The share of requests that never answer.
    public var hangRate: Double = 0
    /// The share of streams cut off after their first chunks.
    public var disconnectRate: Double = 0
    /// If set, requests must present this key.
    public var apiKey: String?
    public var seed: UInt64 = 1

    public init() {}
}

/// What one request should suffer, from the options, the model name's directives and the headers.
struct MockBehaviour {
    var latencyMilliseconds: Double
    /// Between stream chunks.
    var chunkDelayMilliseconds: Double
    var status: Int?
    var hang = false
    var disconnect = false
    var retryAfter: String?

    init(options: MockOptions, model: String, header: (String) -> String?, roll: () -> Double) {
        latencyMilliseconds = options.latencyMilliseconds
        chunkDelayMilliseconds = options.chunkDelayMilliseconds
        if roll() < options.errorRate { status = options.errorStatus }
        hang = roll() < options.hangRate
        disconnect = roll() < options.disconnectRate
        for directive in model.split(separator: "@").dropFirst() {
            if directive == "hang" { hang = true }
            if directive == "disconnect" { disconnect = true }
            if directive.hasPrefix("fail"), let code = Int(directive.dropFirst(4)) { status = code }
            if directive.hasPrefix("status"), let code = Int(directive.dropFirst(6)) { status = code }
            if directive.hasPrefix("latency"), let value = Double(directive.dropFirst(7)) {
                latencyMilliseconds = value
            }
            if directive.hasPrefix("chunkdelay"), let value = Double(directive.dropFirst(10)) {
                chunkDelayMilliseconds = value
            }
        }
        if let value = header("x-mock-status").flatMap(Int.init) { status = value }
        if let value = header("x-mock-latency-ms").flatMap(Double.init) { latencyMilliseconds = value }
        if header("x-mock-hang") == "1" { hang = true }
        if header("x-mock-disconnect") == "1" { disconnect = true }
        retryAfter = header("x-mock-retry-after")
    }
}
