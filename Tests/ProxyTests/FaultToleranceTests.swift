import Foundation
import Synchronization
import Testing

@testable import Proxy

/// Three deployments: one answering 500, one hanging until its timeout, one healthy. 1,000 requests at
/// concurrency 16 see no error, and the failing deployments' breakers open.
@Suite struct FaultToleranceTests {
    static let yaml = """
        providers:
          - { name: mock, kind: openai, base_url: "MOCK/v1", timeout: 1s }
        models:
          - name: resilient
            strategy: round-robin
            deployments:
              - { name: failing, provider: mock, model: "mock@fail500" }
              - { name: hanging, provider: mock, model: "mock@hang" }
              - { name: healthy, provider: mock, model: mock-small }
        routing: { retries: 2, backoff: 10ms, breaker: { consecutive_failures: 3, cooldown: 60s } }
        cache: { enabled: false }
        """

    @Test(.timeLimit(.minutes(2)))
    func clientsSeeNoErrorAndTheFailingBreakersOpen() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let failures = Shared<[String]>([])
            let next = Shared<Int>(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        while next.update({ value in
                            value += 1
                            return value
                        }) <= 1000 {
                            let answer = try await live.post(
                                "/v1/chat/completions",
                                ["model": "resilient", "messages": [["role": "user", "content": "hello"]]])
                            if answer.status != 200 { failures.update { $0.append("\(answer.status) \(answer.text)") } }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = failures.update { $0 }
            #expect(seen.isEmpty, "\(seen.prefix(3))")
            let state = try await live.get("/admin/routing")
            let breakers = Dictionary(
                uniqueKeysWithValues: (state.body["data"]?.array ?? []).map {
                    ($0["name"]?.string ?? "", $0["breaker"]?.string ?? "")
                })
            #expect(breakers == ["failing": "open", "hanging": "open", "healthy": "closed"])
            #expect(state.body["instance"]?.string == live.gateway.instance, "whose breakers these are")
        }
    }
}

/// A value shared between test tasks, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) { storage = Mutex(value) }

    @discardableResult
    func update<Result>(_ body: (inout Value) -> Result) -> Result {
        storage.withLock { body(&$0) }
    }
}
