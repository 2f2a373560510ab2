import Embedding
import Foundation

/// Token states as stored with a cache entry: ids as little-endian Int32, states as IEEE half floats, which
/// halves their size and changes the verifier's cosines by less than 1e-3.
enum TokenStateCoding {
    static func encode(_ text: EncodedText) -> (ids: Data, states: Data) {
        let ids = text.tokenIDs.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
        let halves = text.tokenStates.map { Float16($0).bitPattern.littleEndian }
        return (ids, halves.withUnsafeBytes { Data($0) })
    }

    static func decode(ids: Data?, states: Data?, vector: [Float]) -> EncodedText? {
        guard let ids, let states, !ids.isEmpty, ids.count % 4 == 0, states.count % 2 == 0 else { return nil }
        let tokenIDs = ids.withUnsafeBytes { raw in
            (0..<ids.count / 4).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        }
        let floats = states.withUnsafeBytes { raw in
            (0..<states.count / 2).map {
                Float(
                    Float16(
                        bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))))
            }
        }
        guard floats.count == tokenIDs.count * vector.count else { return nil }
        return EncodedText(tokenIDs: tokenIDs, tokenStates: floats, vector: vector)
    }
}
