import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Closed-loop HTTP load: `concurrency` workers each sending the next request as soon as the last answered,
/// for a duration; latencies of successful requests in milliseconds.
struct LoadGenerator: Sendable {
    let client: HTTPClient

    struct Result: Sendable {
        var latencies: [Double]
        var errors: Int
        var seconds: Double
        var requestsPerSecond: Double { Double(latencies.count) / seconds }
    }

    /// - Parameter request: builds the request for the worker's `n`-th call.
    func run(
        concurrency: Int, seconds: Double, request: @escaping @Sendable (Int) -> HTTPClientRequest,
        check: @escaping @Sendable (HTTPClientResponse.Head) -> Bool = { $0.status.code == 200 }
    ) async throws -> Result {
        let deadline = Date().addingTimeInterval(seconds)
        let started = Date()
        var result = Result(latencies: [], errors: 0, seconds: 0)
        try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    var call = worker
                    while Date() < deadline {
                        let begin = DispatchTime.now().uptimeNanoseconds
                        do {
                            let response = try await client.execute(request(call), timeout: .seconds(60))
                            _ = try await response.body.collect(upTo: 64 * 1024 * 1024)
                            let head = HTTPClientResponse.Head(status: response.status, headers: response.headers)
                            if check(head) {
                                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
                            } else {
                                errors += 1
                            }
                        } catch {
                            errors += 1
                        }
                        call += concurrency
                    }
                    return (latencies, errors)
                }
            }
            for try await (latencies, errors) in group {
                result.latencies += latencies
                result.errors += errors
            }
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }
}

extension LoadGenerator {
    /// What an open-loop run measured: latencies from each request's intended send time.
    struct OpenLoopResult: Sendable {
        var latencies: [Double]
        var errors: Int
        /// Requests never sent because `maxInFlight` were outstanding: the server could not keep up.
        var dropped: Int
        var seconds: Double
        var offeredRate: Double
        var requestsPerSecond: Double { Double(latencies.count) / seconds }
    }

    /// Open-loop load at a fixed rate: the `i`-th request is due at `start + i / rate` whether or not earlier
    /// ones have answered, and its latency counts from that due time, so a server that falls behind shows the
    /// queueing in its latencies instead of silently slowing the load down (coordinated omission). At most
    /// `maxInFlight` requests are outstanding; a due request beyond that is counted as dropped.
    func runOpenLoop(
        rate: Double, seconds: Double, maxInFlight: Int = 1024, request: @escaping @Sendable (Int) -> HTTPClientRequest,
        check: @escaping @Sendable (HTTPClientResponse.Head) -> Bool = { $0.status.code == 200 }
    ) async throws -> OpenLoopResult {
        precondition(rate > 0 && seconds > 0)
        let total = Int(rate * seconds)
        let interval = 1e9 / rate
        let start = DispatchTime.now().uptimeNanoseconds
        let client = self.client
        let tally = OpenLoopTally(rate: rate)
        await withTaskGroup(of: Void.self) { group in
            for call in 0..<total {
                let due = start + UInt64(Double(call) * interval)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { try? await Task.sleep(nanoseconds: due - now) }
                guard tally.enter(maxInFlight: maxInFlight) else { continue }
                group.addTask {
                    var latency: Double?
                    if let response = try? await client.execute(request(call), timeout: .seconds(60)),
                        (try? await response.body.collect(upTo: 64 * 1024 * 1024)) != nil,
                        check(HTTPClientResponse.Head(status: response.status, headers: response.headers))
                    {
                        latency = Double(DispatchTime.now().uptimeNanoseconds - due) / 1e6
                    }
                    tally.leave(latency: latency)
                }
            }
        }
        var result = tally.result
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }
}

/// The outcomes of an open-loop run as its requests finish, and how many are outstanding.
private final class OpenLoopTally: Sendable {
    private let state: Mutex<LoadGenerator.OpenLoopResult>
    private let inFlight = Atomic<Int>(0)

    init(rate: Double) {
        state = Mutex(.init(latencies: [], errors: 0, dropped: 0, seconds: 0, offeredRate: rate))
    }

    /// Counts a request as outstanding, or as dropped when `maxInFlight` already are.
    func enter(maxInFlight: Int) -> Bool {
        guard inFlight.add(1, ordering: .relaxed).newValue <= maxInFlight else {
            inFlight.subtract(1, ordering: .relaxed)
            state.withLock { $0.dropped += 1 }
            return false
        }
        return true
    }

    /// Records a finished request: its latency, or nil for a failure.
    func leave(latency: Double?) {
        inFlight.subtract(1, ordering: .relaxed)
        state.withLock { result in
            if let latency { result.latencies.append(latency) } else { result.errors += 1 }
        }
    }

    var result: LoadGenerator.OpenLoopResult { state.withLock { $0 } }
}

extension HTTPClientResponse {
    struct Head: Sendable {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
    }
}

/// A client with enough connections per host for the highest concurrency.
func benchmarkClient(connections: Int = 256) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(
        idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}
