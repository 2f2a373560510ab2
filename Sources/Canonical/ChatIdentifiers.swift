import Foundation

/// Identifiers and timestamps for responses the gateway creates itself.
package enum ChatIdentifiers {
    package static func completionID() -> String { "chatcmpl-" + random(24) }
    package static func toolCallID() -> String { "call_" + random(24) }
    package static func messageID() -> String { "msg_" + random(24) }
    package static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Random letters and digits.
    package static func random(_ count: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }
}
