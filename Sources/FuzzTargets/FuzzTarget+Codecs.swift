import Canonical
import NIOCore
import Protocols

extension FuzzTarget {
    /// One wire protocol's codec, from both sides: the input as a client request (decoded, its canonical
    /// form checked as a fixed point, encoded for every upstream protocol), as an upstream answer (decoded,
    /// encoded for every client protocol) and as an upstream event stream (decoded, re-encoded as every
    /// client protocol's events).
    static func codec(_ codec: any ChatCodec) -> FuzzTarget {
        FuzzTarget(codec.wireProtocol.rawValue, "the \(codec.wireProtocol.rawValue) codec, client and upstream sides") {
            input in
            if let body = try? JSONValue.parse(input) {
                for route in codec.routes { decodeClientRequest(body, codec: codec, route: route) }
                decodeUpstreamAnswer(body, codec: codec)
            }
            decodeUpstreamStream(input, codec: codec)
        }
    }

    /// A request every event encoder can be made for.
    private static let plainRequest = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "hi")])

    private static func decodeClientRequest(_ body: JSONValue, codec: any ChatCodec, route: ChatRoute) {
        let parameter: (String) -> String? = { name in
            name == "model" ? "m" : name == "action" ? "m:generateContent" : nil
        }
        guard let request = try? codec.decodeRequest(body, route: route, parameter: parameter) else { return }
        let canonical = request.canonicalJSON
        do {
            let again = try ChatRequest(canonicalJSON: canonical)
            require(again.canonicalJSON == canonical, "the canonical form of a request is not a fixed point")
        } catch {
            require(false, "the canonical form of a decoded request does not decode: \(error)")
        }
        _ = codec.endpoint(for: request)
        for upstream in ChatCodecs.all {
            _ = (try? upstream.upstreamRequest(request, model: "m"))?.serialized()
            _ = upstream.upstreamPath(model: "m", stream: request.stream)
        }
    }

    private static func decodeUpstreamAnswer(_ body: JSONValue, codec: any ChatCodec) {
        guard let response = try? codec.upstreamResponse(body, publicModel: "m") else { return }
        let canonical = response.canonicalJSON
        do {
            let again = try ChatResponse(canonicalJSON: canonical)
            require(again.canonicalJSON == canonical, "the canonical form of a response is not a fixed point")
        } catch {
            require(false, "the canonical form of a decoded response does not decode: \(error)")
        }
        for client in ChatCodecs.all { _ = client.encodeResponse(response).serialized() }
    }

    private static func decodeUpstreamStream(_ input: UnsafeRawBufferPointer, codec: any ChatCodec) {
        var parser = ServerSentEventParser(maxEventBytes: 1 << 16)
        var decoder = codec.streamDecoder(publicModel: "m")
        var encoders = ChatCodecs.all.map { $0.eventEncoder(for: plainRequest) }
        guard var events = try? parser.feed(ByteBuffer(bytes: input)), let last = try? parser.finish() else { return }
        events += last
        for event in events {
            guard let chunks = try? decoder.decode(event) else {
                for index in encoders.indices {
                    _ = encoders[index].fail(GatewayError(.upstreamFailed, "fuzzed", code: "fuzzed"))
                }
                return
            }
            for chunk in chunks {
                for index in encoders.indices { _ = encoders[index].encode(chunk) }
            }
            if decoder.isComplete { break }
        }
        for index in encoders.indices { _ = encoders[index].finish() }
    }
}
