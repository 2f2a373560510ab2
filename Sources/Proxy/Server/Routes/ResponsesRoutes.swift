import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The state of OpenAI's Responses API: `POST /v1/responses` (reached through ``ChatRoutes``, as every
/// codec's route) continues a stored conversation with `previous_response_id` and stores its answer
/// unless `store` is false; `GET /v1/responses/{id}` returns a stored response and `DELETE` removes it.
/// A stored response belongs to the key that created it: to any other it does not exist.
struct ResponsesRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.get("/v1/responses/:id") { _, context in
            jsonResponse(try JSONValue.parse(try stored(context: context).response))
        }
        router.delete("/v1/responses/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard try gateway.store.deleteResponse(id: id, keyID: context.principal!.keyID) else {
                throw Self.notFound(id)
            }
            return jsonResponse(["id": .string(id), "object": "response", "deleted": true])
        }
    }

    /// Serves a `POST /v1/responses` body, complete or streamed.
    func create(_ body: JSONValue, headers: HTTPFields, context: GatewayContext) async throws -> Response {
        var request = try ResponsesDecoding.request(body)
        let keyID = context.principal!.keyID
        if let previous = request.previousResponseID {
            guard let stored = try gateway.store.storedResponse(id: previous, keyID: keyID) else {
                throw GatewayError(
                    .notFound, "Previous response with id '\(previous)' not found.", param: "previous_response_id",
                    code: "previous_response_not_found")
            }
            request.continueConversation(try Self.messages(stored.conversation))
        }
        let id = ResponsesIdentifiers.responseID()
        let outcome = try await ChatRoutes(gateway: gateway).respond(
            to: request.chat, endpoint: "/v1/responses", headers: headers, context: context)
        let store = request.store ? StoreAction(gateway: gateway, id: id, keyID: keyID, request: request) : nil
        switch outcome.body {
        case .complete(let response):
            let object = ResponsesEncoding.response(
                response, id: id, request: request, createdAt: Int(gateway.clock.wallTime()))
            store?.save(object, output: response.choices.first?.message)
            return jsonResponse(object, headers: outcome.headers)
        case .stream(let stream):
            let encoder = StoringEventEncoder(base: ResponsesEventEncoder(id: id, request: request), store: store)
            return eventStreamResponse(
                stream, encoder: encoder, headers: outcome.headers, channel: context.channel, watcher: gateway.watcher)
        }
    }

    private func stored(context: GatewayContext) throws -> StoredResponse {
        let id = context.parameters.get("id") ?? ""
        guard let stored = try gateway.store.storedResponse(id: id, keyID: context.principal!.keyID) else {
            throw Self.notFound(id)
        }
        return stored
    }

    static func notFound(_ id: String) -> GatewayError {
        GatewayError(.notFound, "Response with id '\(id)' not found.", param: "response_id", code: "response_not_found")
    }

    static func messages(_ conversation: Data) throws -> [ChatMessage] {
        let values = try JSONValue.parse(conversation).array ?? []
        var messages: [ChatMessage] = []
        for (index, value) in values.enumerated() {
            messages.append(try ChatMessage(canonicalJSON: value, path: "conversation[\(index)]"))
        }
        return messages
    }
}

/// Keeps one response once it is whole: its object and the conversation it ends.
struct StoreAction: Sendable {
    let gateway: Gateway
    let id: String
    let keyID: String
    let request: ResponsesRequest

    func save(_ object: JSONValue, output: ChatMessage?) {
        let conversation = request.conversation(
            answeredBy: output ?? ChatMessage(role: .assistant, content: []))
        let stored = StoredResponse(
            id: id, keyID: keyID, model: request.chat.model, response: Data(object.serialized()),
            conversation: Data(JSONValue.array(conversation.map(\.canonicalJSON)).serialized()),
            createdAt: gateway.clock.wallTime())
        do {
            try gateway.store.saveResponse(stored)
        } catch {
            gateway.logger.error("could not store a response", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }
}

/// The Responses stream, which stores the response when it ends (completed or incomplete, not failed)
/// before its last event goes out, so a client that reads `response.completed` can retrieve it at once.
struct StoringEventEncoder: ChatEventEncoder {
    var base: ResponsesEventEncoder
    let store: StoreAction?
    private var answer = ChatStreamAccumulator()

    init(base: ResponsesEventEncoder, store: StoreAction?) {
        self.base = base
        self.store = store
    }

    mutating func encode(_ chunk: ChatChunk) -> [String] {
        answer.add(chunk)
        return base.encode(chunk)
    }

    mutating func finish() -> [String] {
        let events = base.finish()
        if let store, let object = base.completedResponse {
            store.save(object, output: answer.response.choices.first?.message)
        }
        return events
    }

    mutating func fail(_ error: GatewayError) -> [String] { base.fail(error) }
}
