import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The OpenAI-compatible API: chat completions (streamed or not), embeddings and the model list.
struct OpenAIRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/chat/completions") { request, context in try await chatCompletions(request, context: context) }
        router.post("/v1/embeddings") { request, context in try await embeddings(request, context: context) }
        router.get("/v1/models") { _, context in models(context: context) }
    }

    private func chatCompletions(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let chat = try OpenAIChatDecoding.request(body)
        let service = gateway.chat
        let principal = context.principal!
        let directives = try CacheDirectives(headers: request.headers)
        let outcome = try await gateway.watcher.run(on: context.channel) {
            try await service.respond(
                to: chat, principal: principal, endpoint: "/v1/chat/completions", directives: directives)
        }
        switch outcome.body {
        case .complete(let response):
            return jsonResponse(OpenAIChatEncoding.response(response), headers: outcome.headers)
        case .stream(let stream):
            return eventStreamResponse(
                stream, encoder: OpenAIEventEncoder(includeUsage: chat.includeUsage), headers: outcome.headers,
                channel: context.channel, watcher: gateway.watcher)
        }
    }

    private func embeddings(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let fields = try JSONFields(body)
        let model = try fields.requiredString("model")
        guard let input = fields.value("input") else {
            throw GatewayError.invalid("`input` is required.", param: "input")
        }
        let isValidInput: Bool
        switch input {
        case .string: isValidInput = true
        case .array(let items):
            isValidInput =
                !items.isEmpty
                && (items.allSatisfy { $0.string != nil } || items.allSatisfy { $0.integer != nil }
                    || items.allSatisfy { $0.array?.allSatisfy { $0.integer != nil } == true })
        default: isValidInput = false
        }
        guard isValidInput else {
            throw GatewayError.invalid(
                "`input` must be a string, an array of strings, or token arrays, and not empty.", param: "input")
        }
        let answer = try await gateway.forwardJSON(
            body, path: "/embeddings", model: model, principal: context.principal!, channel: context.channel)
        return answer
    }

    private func models(context: GatewayContext) -> Response {
        let principal = context.principal!
        let created = Int64(Date().timeIntervalSince1970)
        let data = gateway.configuration.models.filter { principal.allows(model: $0.name) }.map { group -> JSONValue in
            ["id": .string(group.name), "object": "model", "created": .integer(created), "owned_by": "routershift"]
        }
        return jsonResponse(["object": "list", "data": .array(data)])
    }
}

extension Gateway {
    /// Routes a JSON request that the gateway passes through (embeddings, images, rerank, ...): the model is
    /// checked against the key, the call goes through the routing core, and the upstream's JSON comes back
    /// with the public model name.
    func forwardJSON(_ body: JSONValue, path: String, model: String, principal: Principal, channel: any Channel)
        async throws
        -> Response
    {
        guard routing.groups[model] != nil else { throw GatewayError.unknownModel(model) }
        guard principal.allows(model: model) else {
            throw GatewayError(
                .permission, "This key may not use the model `\(model)`.", param: "model", code: "model_not_allowed")
        }
        let permit: KeyPermit
        if case .key(let key) = principal {
            permit = try limiter.admit(key, estimatedTokens: 0)
        } else {
            permit = .unlimited
        }
        let routing = routing
        let started = Date()
        var record = RequestRecord(keyID: principal.keyID, team: principal.team, endpoint: "/v1" + path, model: model)
        do {
            let routed = try await watcher.run(on: channel) {
                try await routing.execute(model: model) { deployment, deadline throws(UpstreamFailure) in
                    let response = try await deployment.adapter.forward(
                        ForwardedCall(path: path, body: .json(body)), model: deployment.model, deadline: deadline)
                    do {
                        return try await response.body.collect(upTo: 256 * 1024 * 1024)
                    } catch {
                        throw UpstreamClient.failure(error)
                    }
                }
            }
            var answer = (try? JSONValue.parse(routed.value.readableBytesView)) ?? .null
            if case .object(var object) = answer, object["model"] != nil {
                object["model"] = .string(model)
                answer = .object(object)
            }
            let usage = answer["usage"]
            let input = Int(usage?["prompt_tokens"]?.integer ?? usage?["input_tokens"]?.integer ?? 0)
            permit.release(tokens: input)
            routing.recordTokens(input, on: routed.deployment)
            record.deployment = routed.deployment.name
            record.provider = routed.deployment.providerName
            record.retries = routed.attempts - 1
            record.inputTokens = input
            record.cost = routed.deployment.price?.cost(of: Usage(promptTokens: input, completionTokens: 0)) ?? 0
            record.latencyMilliseconds = Date().timeIntervalSince(started) * 1000
            recorder.record(record)
            let headers: HTTPFields = [HTTPField.Name("x-routershift-deployment")!: routed.deployment.name]
            guard answer != .null else {
                return Response(
                    status: .ok, headers: headers.merging([.contentType: "application/json"]),
                    body: .init(byteBuffer: routed.value))
            }
            return jsonResponse(answer, headers: headers)
        } catch let error as GatewayError {
            permit.release(tokens: 0)
            record.status = Int(error.status.code)
            record.errorType = error.code ?? error.kind.rawValue
            record.latencyMilliseconds = Date().timeIntervalSince(started) * 1000
            recorder.record(record)
            throw error
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var result = self
        for field in other { result[field.name] = field.value }
        return result
    }
}
