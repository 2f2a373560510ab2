import Foundation
import HTTPTypes
import Hummingbird

/// Async chat completions: POST /v1/chat/completions/async answers 202 with a task id at once, GET
/// /v1/chat/completions/async/:id gives the task's status and GET .../:id/result its completion. Only
/// the key that created a task can see it; to any other it does not exist.
struct AsyncTaskRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/chat/completions/async") { request, context in try await submit(request, context: context) }
        router.get("/v1/chat/completions/async/:id") { _, context in try await status(context: context) }
        router.get("/v1/chat/completions/async/:id/result") { _, context in try await result(context: context) }
    }

    private func submit(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let chat = try OpenAIChatDecoding.request(body)
        guard !chat.stream else {
            throw GatewayError.invalid("Async tasks do not stream; drop `stream`.", param: "stream")
        }
        _ = try CacheDirectives(headers: request.headers)
        let principal = context.principal!
        try gateway.routing.authorize(model: chat.model, for: .chat, principal: principal)
        try gateway.admission.spend.check(principal)
        var directives: [String: JSONValue] = [:]
        for field in request.headers where field.name.canonicalName.hasPrefix("x-routershift-") {
            directives[field.name.canonicalName] = .string(field.value)
        }
        let now = gateway.clock.wallTime()
        let task = AsyncTask(
            id: "task_" + ChatIdentifiers.random(24), keyID: principal.keyID, model: chat.model,
            request: Data(body.serialized()),
            headers: Data(JSONValue.object(directives).serialized()), status: .queued, attempts: 0, createdAt: now,
            notBefore: now)
        try await gateway.store.enqueueTask(task)
        gateway.asyncTasks.wake()
        return jsonResponse(Self.describe(task), status: .accepted)
    }

    private func status(context: GatewayContext) async throws -> Response {
        jsonResponse(Self.describe(try await task(context: context)))
    }

    private func result(context: GatewayContext) async throws -> Response {
        let task = try await task(context: context)
        guard let status = task.resultStatus, let result = task.result else {
            throw GatewayError(
                .conflict, "Task \(task.id) is \(task.status.rawValue); its result is not ready.",
                code: "task_not_finished")
        }
        return Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: result)))
    }

    private func task(context: GatewayContext) async throws -> AsyncTask {
        let id = context.parameters.get("id") ?? ""
        guard let task = try await gateway.store.task(id: id, keyID: context.principal!.keyID) else {
            throw GatewayError(.notFound, "No task \(id).", code: "task_not_found")
        }
        return task
    }

    static func describe(_ task: AsyncTask) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(task.id), "object": "chat.completion.task", "model": .string(task.model),
            "status": .string(task.status.rawValue), "attempts": .integer(Int64(task.attempts)),
            "created_at": .number(task.createdAt), "started_at": task.startedAt.map(JSONValue.number) ?? .null,
            "finished_at": task.finishedAt.map(JSONValue.number) ?? .null,
        ]
        if task.status == .failed, let result = task.result, let body = try? JSONValue.parse(result) {
            object["error"] = body["error"] ?? body
        }
        return .object(object)
    }
}

/// One run of an async task: the chat request as its creator sent it, through the same chat service
/// (cache, routing, limits, log) as a live request.
struct AsyncTaskExecution: Sendable {
    /// A chat service on the configuration in force when the task runs.
    let chat: @Sendable () -> ChatService
    let keys: KeyDirectory
    let maxAttempts: Int

    func perform(_ task: AsyncTask) async -> AsyncTaskRunner.Outcome {
        do {
            let principal = try await principal(of: task)
            var request = try OpenAIChatDecoding.request(try JSONValue.parse(task.request))
            request.stream = false
            var headers = HTTPFields()
            for (name, value) in try JSONValue.parse(task.headers).object ?? [:] {
                if let name = HTTPField.Name(name), let value = value.string { headers[name] = value }
            }
            let outcome = try await chat().respond(
                to: request, principal: principal, endpoint: "/v1/chat/completions/async",
                directives: try CacheDirectives(headers: headers))
            guard case .complete(let response) = outcome.body else {
                throw GatewayError(.internalError, "The task's answer was a stream.", code: "internal_error")
            }
            return .finished(status: 200, body: OpenAIChatEncoding.response(response))
        } catch {
            if Task.isCancelled { return .interrupted }
            let failure =
                error as? GatewayError
                ?? GatewayError(.internalError, "The task's request could not be run.", code: "internal_error")
            if failure.kind == .rateLimited, task.attempts < maxAttempts {
                return .retry(after: Double(max(failure.retryAfter ?? 1, 1)))
            }
            return .finished(status: Int(failure.status.code), body: failure.body(for: .openAI))
        }
    }

    private func principal(of task: AsyncTask) async throws -> Principal {
        if task.keyID == Principal.master.keyID { return .master }
        // A key created elsewhere a moment ago may not have reached this directory yet.
        if keys.key(id: task.keyID) == nil { _ = try? await keys.refresh() }
        guard let key = keys.key(id: task.keyID), key.revokedAt == nil else {
            throw GatewayError(
                .authentication, "The key that created this task has been revoked.", code: "invalid_api_key")
        }
        return .key(key)
    }
}
