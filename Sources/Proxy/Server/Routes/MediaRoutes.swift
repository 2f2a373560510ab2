import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Protocols
import RouterShiftConfiguration

/// Images, audio, rerank, Midjourney and Suno: routed like every other endpoint, passed through to the
/// deployments configured for them.
struct MediaRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/images/generations") { request, context in
            try await json(
                request, context: context, endpoint: .images, path: "/images/generations", requiring: ["prompt"],
                bounding: ["n": 1...10])
        }
        router.post("/v1/rerank") { request, context in
            try await json(
                request, context: context, endpoint: .rerank, path: "/rerank", requiring: ["query", "documents"],
                bounding: ["top_n": 1...10_000])
        }
        router.post("/v1/midjourney/imagine") { request, context in
            try await json(
                request, context: context, endpoint: .midjourney, path: "/midjourney/imagine", requiring: ["prompt"],
                defaultModel: "midjourney")
        }
        router.post("/v1/suno/generate") { request, context in
            try await json(
                request, context: context, endpoint: .suno, path: "/suno/generate", requiring: ["prompt"],
                defaultModel: "suno")
        }
        router.post("/v1/audio/speech") { request, context in try await speech(request, context: context) }
        router.post("/v1/audio/transcriptions") { request, context in try await transcription(request, context: context)
        }
    }

    private func json(
        _ request: Request, context: GatewayContext, endpoint: GatewayConfiguration.Endpoint, path: String,
        requiring fields: [String], bounding bounds: [String: ClosedRange<Int64>] = [:], defaultModel: String? = nil
    ) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let reader = try JSONFields(body)
        let model = try reader.string("model") ?? defaultModel
        guard let model else { throw GatewayError.invalid("`model` is required.", param: "model") }
        for field in fields where reader.value(field) == nil {
            throw GatewayError.invalid("`\(field)` is required.", param: field)
        }
        // Integers an upstream would act on (one image per `n`): refused here rather than forwarded.
        for (field, range) in bounds.sorted(by: { $0.key < $1.key }) {
            if let value = try reader.integer(field), !range.contains(value) {
                throw GatewayError.invalid(
                    "`\(field)` must be between \(range.lowerBound) and \(range.upperBound).", param: field)
            }
        }
        return try await gateway.passthrough.json(
            body, endpoint: endpoint, path: path, model: model, principal: context.principal!, channel: context.channel)
    }

    private func speech(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let reader = try JSONFields(body)
        let model = try reader.requiredString("model")
        _ = try reader.requiredString("input")
        return try await gateway.passthrough.streamed(
            body, endpoint: .audioSpeech, path: "/audio/speech", model: model, principal: context.principal!,
            channel: context.channel)
    }

    /// A multipart upload streamed to the upstream: the body is read only up to the end of the `model` field
    /// (to authorise and route it, and to name the deployment's model), then the rest goes through as it
    /// arrives. Such a body can be read once, so the call is not retried.
    private func transcription(_ request: Request, context: GatewayContext) async throws -> Response {
        guard let contentType = request.headers[.contentType],
            contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = MultipartScanner.boundary(of: contentType)
        else {
            throw GatewayError(
                .unsupportedMediaType, "Send the audio as multipart/form-data with a boundary.",
                code: "unsupported_media_type")
        }
        let upload = try await MultipartModelUpload.read(
            request.body, boundary: boundary,
            limit: min(gateway.configuration.server.maxBodyBytes, Self.maxBytesBeforeModel))
        let limit = gateway.upstream.maxResponseBytes
        do {
            let (buffer, _) = try await gateway.passthrough.forward(
                .audioTranscription, path: "/audio/transcriptions", model: upload.model,
                principal: context.principal!, channel: context.channel, singleAttempt: true,
                call: { deployment in
                    ForwardedCall(
                        path: "/audio/transcriptions",
                        body: .stream(upload.body(rewritingModelTo: deployment.model), contentType: contentType))
                },
                read: { response in try await response.body.collect(upTo: limit) })
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
        } catch {
            // The upload failed because the rest of the body was refused, not because of the upstream.
            if let rejection = upload.rejection { throw rejection }
            throw error
        }
    }

    /// How far into a multipart upload its `model` field must end: 1 MiB (a small file may come first).
    static let maxBytesBeforeModel = 1 << 20
}
