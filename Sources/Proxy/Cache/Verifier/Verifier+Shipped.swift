import Foundation
import ShippedData

extension Verifier {
    /// The verifier a configuration names: its parameters file, or the one built into the binary when
    /// `file` is nil.
    ///
    /// - Throws: ``GatewayError`` naming the file when it is missing or not a verifier.
    public static func load(file: String?) throws -> Verifier {
        guard let file else { return try JSONDecoder().decode(Verifier.self, from: Data(ShippedData.verifier)) }
        return try load(path: file)
    }
}
