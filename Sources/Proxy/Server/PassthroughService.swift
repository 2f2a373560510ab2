import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RouterShiftConfiguration

/// Routes the endpoints the gateway passes through without modelling them (embeddings, images, audio,
/// rerank, Midjourney, Suno): the model is checked against the key, the call goes through the routing core
/// with the key's limits, and the request is recorded.
struct PassthroughService: Sendable {
    let gateway: Gateway

    /// A JSON request answered with JSON, the `model` field set to the public name in both directions.
    func json(
        _ body: JSONValue, endpoint: GatewayConfiguration.Endpoint, path: String, model: String, principal: Principal,
        channel: any Channel
    ) async throws -> Response {
        let (answer, deployment) = try await jsonAnswer(
            body, endpoint: endpoint, path: path, model: model, principal: principal, channel: channel)
        return jsonResponse(answer, headers: ChatService.headers(deployment))
    }

    /// The answer ``json(_:endpoint:path:model:principal:channel:)`` sends, for routes that reshape it.
    func jsonAnswer(
        _ body: JSONValue, endpoint: GatewayConfiguration.Endpoint, path: String, model: String, principal: Principal,
        channel: any Channel
    ) async throws -> (JSONValue, Deployment) {
        let (received, deployment) = try await forward(
            endpoint, path: path, model: model, principal: principal, channel: channel, singleAttempt: false,
            call: { _ in ForwardedCall(path: path, body: .json(body)) },
            read: { response -> JSONValue in
                let buffer = try await response.body.collect(upTo: gateway.upstream.maxResponseBytes)
                return (try? JSONValue.parseRepairingUTF8(buffer.readableBytesView)) ?? .string(String(buffer: buffer))
            },
            tokens: { (answer: JSONValue) -> Int in
                Int(answer["usage"]?["prompt_tokens"]?.integer ?? answer["usage"]?["total_tokens"]?.integer ?? 0)
            })
        var answer = received
        if case .object(var object) = answer, object["model"] != nil {
            object["model"] = JSONValue.string(model)
            answer = .object(object)
        }
        return (answer, deployment)
    }

    /// A JSON request whose answer (audio, say) is streamed back to the client as it arrives.
    func streamed(
        _ body: JSONValue, endpoint: GatewayConfiguration.Endpoint, path: String, model: String, principal: Principal,
        channel: any Channel
    ) async throws -> Response {
        let (response, deployment) = try await forward(
            endpoint, path: path, model: model, principal: principal, channel: channel, singleAttempt: false,
            call: { _ in ForwardedCall(path: path, body: .json(body)) }, read: { $0 })
        var headers = ChatService.headers(deployment)
        headers[.contentType] = response.contentType ?? "application/octet-stream"
        let upstream = response.body
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                for try await buffer in upstream { try await writer.write(buffer) }
                try await writer.finish(nil)
            })
    }

    /// Routes one call and reads the answer with `read` inside the attempt, so a failure while reading can
    /// still move to another deployment; `singleAttempt` for bodies that can be read only once.
    ///   - tokens: the input tokens an answer reports, for quotas, the log and its cost.
    func forward<Value: Sendable>(
        _ endpoint: GatewayConfiguration.Endpoint, path: String, model: String, principal: Principal,
        channel: (any Channel)?,
        singleAttempt: Bool,
        call: @escaping @Sendable (Deployment) -> ForwardedCall,
        read: @escaping @Sendable (ForwardedResponse) async throws -> Value,
        tokens: @Sendable (Value) -> Int = { _ in 0 }
    ) async throws -> (Value, Deployment) {
        let started = RequestStart(clock: gateway.routing.clock)
        let logged = path.hasPrefix("/v1/") ? path : "/v1" + path
        var record = RequestRecord(
            time: started.wallTime, keyID: principal.keyID, team: principal.team, endpoint: logged, model: model)
        let permit: KeyPermit
        do {
            permit = try gateway.admission.admit(model: model, for: endpoint, principal: principal, estimatedTokens: 0)
        } catch {
            gateway.telemetry.record(record.refused(error, started: started))
            throw error
        }
        let routing = gateway.routing
        let work: @Sendable () async throws -> RoutingCore.Routed<Value> = {
            try await routing.execute(model: model, retries: singleAttempt ? 0 : nil) {
                deployment, deadline throws(UpstreamFailure) in
                let response = try await deployment.adapter.forward(
                    call(deployment), model: deployment.model, deadline: deadline)
                do {
                    return try await read(response)
                } catch {
                    throw UpstreamClient.failure(error)
                }
            }
        }
        do {
            let routed = channel.map { channel in { try await gateway.watcher.run(on: channel, work) } } ?? work
            let result = try await routed()
            let used = tokens(result.value)
            permit.release(tokens: used)
            routing.recordTokens(used, on: result.deployment)
            record.inputTokens = used
            record.cost = result.deployment.price?.cost(of: Usage(promptTokens: used, completionTokens: 0)) ?? 0
            record.deployment = result.deployment.name
            record.provider = result.deployment.providerName
            record.retries = result.attempts - 1
            record.latencyMilliseconds = started.elapsedMilliseconds()
            gateway.telemetry.record(record)
            return (result.value, result.deployment)
        } catch {
            permit.release(tokens: 0)
            gateway.telemetry.record(record.refused(error, started: started))
            throw error as? GatewayError ?? GatewayError(.internalError, "The gateway failed to forward this request.")
        }
    }
}
