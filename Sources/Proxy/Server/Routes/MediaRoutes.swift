import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Images, audio, rerank, Midjourney and Suno: routed like every other endpoint, passed through to the
/// deployments configured for them.
struct MediaRoutes {
    let gateway: Gateway

    func register(on router: Router<GatewayContext>) {
        router.post("/v1/images/generations") { request, context in
            try await json(
                request, context: context, endpoint: .images, path: "/images/generations", requiring: ["prompt"])
        }
        router.post("/v1/rerank") { request, context in
            try await json(
                request, context: context, endpoint: .rerank, path: "/rerank", requiring: ["query", "documents"])
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
        requiring fields: [String], defaultModel: String? = nil
    ) async throws -> Response {
        let body = try await request.decodeJSONBody(limit: gateway.configuration.server.maxBodyBytes)
        let reader = try JSONFields(body)
        let model = try reader.string("model") ?? defaultModel
        guard let model else { throw GatewayError.invalid("`model` is required.", param: "model") }
        for field in fields where reader.value(field) == nil {
            throw GatewayError.invalid("`\(field)` is required.", param: field)
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

    /// A multipart upload streamed to the upstream: the body is read only up to the `model` field (to route
    /// it, and to name the deployment's model), then the rest goes through as it arrives. Such a body can be
    /// read once, so the call is not retried.
    private func transcription(_ request: Request, context: GatewayContext) async throws -> Response {
        guard let contentType = request.headers[.contentType],
            contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = MultipartField.boundary(of: contentType)
        else {
            throw GatewayError(
                .unsupportedMediaType, "Send the audio as multipart/form-data with a boundary.",
                code: "unsupported_media_type")
        }
        var iterator = request.body.makeAsyncIterator()
        var prefix = ByteBuffer()
        var field: MultipartField?
        var finished = false
        while field == nil {
            guard let chunk = try await iterator.next() else {
                finished = true
                break
            }
            prefix.writeImmutableBuffer(chunk)
            guard prefix.readableBytes <= gateway.configuration.server.maxBodyBytes else {
                throw GatewayError(
                    .requestTooLarge, "The part before the `model` field exceeds the body limit.",
                    code: "request_too_large")
            }
            field = MultipartField.find("model", in: prefix, boundary: boundary)
        }
        guard let field else { throw GatewayError.invalid("The multipart body has no `model` field.", param: "model") }
        let read = prefix
        let upload = PrefixedBody(prefix: read, rest: finished ? nil : iterator)
        let (buffer, _) = try await gateway.passthrough.forward(
            .audioTranscription, path: "/audio/transcriptions", model: field.value, principal: context.principal!,
            channel: context.channel, singleAttempt: true,
            call: { deployment in
                upload.replacePrefix(with: field.replacing(in: read, with: deployment.model))
                return ForwardedCall(path: "/audio/transcriptions", body: .stream(upload, contentType: contentType))
            },
            read: { response in try await response.body.collect(upTo: 64 * 1024 * 1024) })
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}

/// A text field of a multipart body, found in the bytes read so far.
struct MultipartField: Sendable {
    let value: String
    /// Where the value lies in the buffer.
    let range: Range<Int>

    static func boundary(of contentType: String) -> String? {
        guard let range = contentType.range(of: "boundary=") else { return nil }
        var boundary = String(contentType[range.upperBound...])
        if let end = boundary.firstIndex(of: ";") { boundary = String(boundary[..<end]) }
        boundary = boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        return boundary.isEmpty ? nil : boundary
    }

    /// The field `name` if its value is complete in `buffer`.
    static func find(_ name: String, in buffer: ByteBuffer, boundary: String) -> MultipartField? {
        let bytes = Array(buffer.readableBytesView)
        guard let header = bytes.firstRange(of: Array("name=\"\(name)\"".utf8)),
            let start = bytes[header.upperBound...].firstRange(of: Array("\r\n\r\n".utf8))?.upperBound,
            let end = bytes[start...].firstRange(of: Array("\r\n--\(boundary)".utf8))?.lowerBound
        else { return nil }
        return MultipartField(value: String(decoding: bytes[start..<end], as: UTF8.self), range: start..<end)
    }

    /// `buffer` with the value replaced by `value`.
    func replacing(in buffer: ByteBuffer, with value: String) -> ByteBuffer {
        let bytes = Array(buffer.readableBytesView)
        var result = ByteBuffer()
        result.writeBytes(bytes[..<range.lowerBound])
        result.writeString(value)
        result.writeBytes(bytes[range.upperBound...])
        return result
    }
}
