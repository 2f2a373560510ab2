import Foundation
import Testing

@testable import Proxy

/// `PATCH /admin/keys/{id}`: what is sent changes (null clears), the rest stays, and the key's next request
/// is served on the change; what a new key could not be is refused.
@Suite struct KeyUpdateTests {
    static let yaml = LiveGateway.everyProtocolYAML(cache: "{ enabled: false }")

    static func ask(_ live: LiveGateway, _ model: String, key: String) async throws -> Int {
        try await live.post(
            "/v1/chat/completions", ["model": .string(model), "messages": [["role": "user", "content": "hi"]]],
            key: key
        ).status
    }

    static func patch(_ live: LiveGateway, _ id: String, _ body: JSONValue, key: String? = nil) async throws -> (
        status: Int, body: JSONValue
    ) {
        let answer = try await live.send(
            "/admin/keys/\(id)", method: .PATCH, body: body.serialized(), key: key, headers: [])
        return (answer.status, answer.body)
    }

    @Test func aChangedKeyIsInForceFromItsNextRequest() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let created = try await live.post(
                "/admin/keys", ["name": "app", "rpm": 1, "models": ["chat"], "budget": 5, "budget_period": "day"])
            let id = try #require(created.body["id"]?.string)
            let secret = try #require(created.body["key"]?.string)
            #expect(try await Self.ask(live, "chat", key: secret) == 200)
            #expect(try await Self.ask(live, "chat", key: secret) == 429, "one request a minute")
            #expect(try await Self.ask(live, "claude", key: secret) == 403, "chat only")

            let changed = try await Self.patch(live, id, ["name": "app-2", "rpm": 3, "models": .null])
            #expect(changed.status == 200, "\(changed.body)")
            #expect(changed.body["name"] == "app-2" && changed.body["rpm"] == 3 && changed.body["models"] == .null)
            #expect(changed.body["budget"] == 5 && changed.body["budget_period"] == "day", "what was not sent stays")
            // Three a minute, one of them used: two more, on any model.
            #expect(try await Self.ask(live, "claude", key: secret) == 200)
            #expect(try await Self.ask(live, "chat", key: secret) == 200)
            #expect(try await Self.ask(live, "chat", key: secret) == 429)
            #expect(try await Self.patch(live, id, ["rpm": .null]).status == 200)
            #expect(try await Self.ask(live, "chat", key: secret) == 200, "no limit any more")
            let listed = try await live.get("/admin/keys").body["data"]?.array ?? []
            #expect(listed.first { $0["id"]?.string == id }?["name"] == "app-2")
        }
    }

    @Test func whatANewKeyCouldNotBeIsRefused() async throws {
        try await LiveGateway.run(yaml: Self.yaml) { live in
            let created = try await live.post("/admin/keys", ["name": "app", "rpm": 10])
            let id = try #require(created.body["id"]?.string)
            let secret = try #require(created.body["key"]?.string)
            for (body, param) in [
                (["rpm": 0], "rpm"), (["team": "nobody"], "team"), (["budget_period": "fortnight"], "budget_period"),
                (["hash": "x"], "hash"), (["models": ["chat", 3]], "models"), (["name": ""], "name"),
            ] as [(JSONValue, String)] {
                let refused = try await Self.patch(live, id, body)
                #expect(refused.status == 400 && refused.body["error"]?["param"]?.string == param, "\(body)")
            }
            #expect(try await live.get("/admin/keys").body["data"]?.array?.first?["rpm"] == 10, "nothing changed")
            #expect(try await Self.patch(live, "key_nobody", ["rpm": 5]).status == 404)
            #expect(try await Self.patch(live, id, ["rpm": 5], key: secret).status == 403, "master key only")
            #expect(try await live.post("/admin/keys/\(id)/revoke", [:]).status == 200)
            let revoked = try await Self.patch(live, id, ["rpm": 5])
            #expect(revoked.status == 409 && revoked.body["error"]?["code"] == "key_revoked")
        }
    }
}
