import Testing

@testable import Proxy

@Suite struct LiveGatewaySmokeTests {
    @Test(.timeLimit(.minutes(1))) func servesHealth() async throws {
        do {
            try await LiveGateway.run(yaml: FaultToleranceTests.yaml) { live in
                let health = try await live.get("/health")
                #expect(health.status == 200)
            }
        } catch {
            Issue.record("failed: \(error)")
        }
    }
}
