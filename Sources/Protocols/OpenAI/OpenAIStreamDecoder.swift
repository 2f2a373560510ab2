import Canonical

/// OpenAI's stream: `data:` lines of chunk JSON, then `data: [DONE]`. An error object in the stream fails it.
package struct OpenAIStreamDecoder: ChatStreamDecoder {
    package let publicModel: String
    package private(set) var isComplete = false

    package init(publicModel: String) {
        self.publicModel = publicModel
    }

    package mutating func decode(_ event: ServerSentEvent) throws(UpstreamFailure) -> [ChatChunk] {
        if event.data == "[DONE]" {
            isComplete = true
            return []
        }
        guard !event.data.isEmpty else { return [] }
        guard let json = try? JSONValue.parse(Array(event.data.utf8)) else {
            throw .malformed("a stream event is not JSON: \(event.data.prefix(200))")
        }
        if let error = json["error"] {
            throw .status(500, message: error["message"]?.string ?? "error in stream", retryAfter: nil)
        }
        return [OpenAIChatDecoding.chunk(json, publicModel: publicModel)]
    }
}
