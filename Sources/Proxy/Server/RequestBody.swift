import HTTPTypes
import Hummingbird
import NIOCore

extension Request {
    /// The body as JSON, at most `limit` bytes; a 413 beyond, a 400 naming the problem if it is not JSON, a
    /// 415 if it is compressed (the gateway decompresses nothing, so no body can expand past its limits).
    func decodeJSONBody(limit: Int) async throws -> JSONValue {
        if let encoding = headers[.contentEncoding], encoding.lowercased() != "identity" {
            throw GatewayError(
                .unsupportedMediaType,
                "A request body with `Content-Encoding: \(encoding)` is not accepted; send it uncompressed.",
                code: "unsupported_content_encoding")
        }
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytes > 0 else {
            throw GatewayError.invalid("The request body is empty; send a JSON object.")
        }
        do {
            return try JSONValue.parse(buffer.readableBytesView)
        } catch {
            throw GatewayError.invalid("The request body is not valid JSON: \(Self.describe(error)).")
        }
    }

    func collectBody(limit: Int) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw GatewayError(.requestTooLarge, "The request body exceeds \(limit) bytes.", code: "request_too_large")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw GatewayError(.requestTooLarge, "The request body exceeds \(limit) bytes.", code: "request_too_large")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .dataCorrupted(let context): return context.underlyingError.map { "\($0)" } ?? context.debugDescription
            default: return "\(decoding)"
            }
        }
        return "\(error)"
    }
}

/// A JSON response.
func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
}
