import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to the gateway, for clients no HTTP library will play: one that sends half a
/// head, trickles a body, or never reads. Reads give up after `receiveTimeout` seconds.
///
/// Reads block in `recv`, so they run on a thread of their own: blocking one of Swift's cooperative threads
/// (two on a two-core machine) would starve the gateway's handlers that the read is waiting for.
final class RawConnection: @unchecked Sendable {
    private let socket: Int32

    /// How a read ended.
    enum Read: Equatable {
        case data([UInt8])
        /// The gateway closed the connection (an orderly close or a reset).
        case closed
        /// Nothing came within the receive timeout.
        case timedOut
    }

    init(baseURL: String, receiveTimeout: Int = 10) throws {
        let port = UInt16(baseURL.split(separator: ":").last.flatMap { Int($0) } ?? 0)
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(socket) }

    /// Goes away as a client does: both directions of the connection shut.
    func hangUp() { shutdown(socket, Int32(SHUT_RDWR)) }

    /// Sends `text`; false once the gateway has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            == bytes.count
    }

    func read() async -> Read {
        await offThePool { self.readBlocking() }
    }

    /// Reads until the gateway closes the connection, or a read times out.
    func readToEnd() async -> (bytes: [UInt8], closed: Bool) {
        await offThePool {
            var bytes: [UInt8] = []
            while true {
                switch self.readBlocking() {
                case .data(let data): bytes += data
                case .closed: return (bytes, true)
                case .timedOut: return (bytes, false)
                }
            }
        }
    }

    private func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }

    private func readBlocking() -> Read {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count > 0 { return .data(Array(buffer[..<count])) }
        if count == 0 || errno == ECONNRESET { return .closed }
        return .timedOut
    }
}
