import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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
