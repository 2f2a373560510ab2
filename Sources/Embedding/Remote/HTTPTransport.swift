/// Sends one HTTP request and returns the whole answer: how the remote embedder reaches the network
/// without this module depending on an HTTP client. The gateway supplies one built on its shared client.
public protocol HTTPTransport: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws
        -> (status: Int, body: [UInt8])
}
