import Foundation
import Testing

@testable import Proxy
@testable import RouterShiftConfiguration

/// `GET /health/ready` beside liveness, and the admin listener that takes `/admin`, `/metrics` and `/ui`
/// off the public one.
@Suite struct ReadinessTests {
    static let yaml = """
        providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
        models: [ { name: chat, deployments: [ { provider: mock, model: mock-small } ] } ]
        cache: { enabled: true, semantic: false }
        """

    @Test func aHealthyGatewayIsReadyAndNamesWhatItChecked() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let ready = try await live.get("/health/ready", key: "none")
            #expect(ready.status == 200)
            #expect(ready.body["status"] == "ready")
            #expect(ready.body["checks"]?["database"]?["status"] == "ok")
            #expect(ready.body["checks"]?["model"]?["status"] == "disabled")
            #expect(ready.body["checks"]?["index"]?["status"] == "disabled")
            #expect(try await live.get("/health", key: "none").status == 200)
        }
    }

    @Test func aDatabaseThatNoLongerAnswersMakesItNotReadyButStillAlive() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            try live.gateway.store.database.close()
            let ready = try await live.get("/health/ready", key: "none")
            #expect(ready.status == 503)
            #expect(ready.body["status"] == "not ready")
            #expect(ready.body["failing"] == ["database"])
            #expect(ready.body["checks"]?["database"]?["status"] == "failing")
            #expect(ready.body["checks"]?["database"]?["error"]?.string?.contains("does not answer") == true)
            #expect(try await live.get("/health", key: "none").status == 200)
        }
    }

    @Test func theModelAndIndexAreReportedWhenTheSemanticLayerIsOn() async throws {
        let yaml = """
            providers: [ { name: mock, kind: openai, base_url: "MOCK/v1" } ]
            models: [ { name: chat, deployments: [ { provider: mock, model: mock-small } ] } ]
            cache: { enabled: true, verifier: { enabled: false },
                     embedder: { kind: local, model_dir: data/models/all-MiniLM-L6-v2, threads: 1 } }
            """
        try await LiveGateway.run(yaml: yaml) { live in
            let ready = try await live.get("/health/ready", key: "none")
            #expect(ready.status == 200)
            #expect(ready.body["checks"]?["model"]?["status"] == "loaded")
            #expect(ready.body["checks"]?["index"]?["status"] == "open (0 entries)")
        }
    }

    @Test func theAdminListenerServesAdministrationAndThePublicOneNoLonger() async throws {
        let yaml = Self.yaml + "\nserver: { admin: { host: 127.0.0.1, port: 0 } }\n"
        try await LiveGateway.run(yaml: yaml) { live in
            let admin = try #require(live.adminURL)
            #expect(admin != live.baseURL)
            for path in ["/metrics", "/ui", "/admin/keys", "/admin/cache/stats"] {
                #expect(try await live.get(path).status == 404, "\(path) on the public listener")
            }
            let publicChat = try await live.post(
                "/v1/chat/completions", ["model": "chat", "messages": [["role": "user", "content": "hi"]]])
            #expect(publicChat.status == 200)
            let onAdmin = LiveGateway(
                baseURL: admin, adminURL: nil, mockURL: live.mockURL, gateway: live.gateway, client: live.client,
                configurationFile: live.configurationFile)
            #expect(try await onAdmin.get("/metrics", key: "none").text.contains("routershift_requests_total"))
            #expect(try await onAdmin.get("/ui", key: "none").status == 200)
            #expect(try await onAdmin.get("/admin/keys").status == 200)
            #expect(try await onAdmin.get("/admin/keys", key: "sk-wrong-key-0000").status == 401)
            #expect(try await onAdmin.get("/v1/models").status == 404)
            #expect(try await onAdmin.get("/health/ready", key: "none").status == 200)
        }
    }

    @Test func theAdminListenerMustNotShareTheServersAddress() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("server: { port: 4000, admin: { port: 4000 } }")
        }
        #expect(error.problems.map(\.path) == ["server.admin"])
        let missing = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse("server: { admin: { host: 10.0.0.1 } }")
        }
        #expect(missing.problems.map(\.path) == ["server.admin.port"])
    }
}
