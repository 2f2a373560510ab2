import Embedding
import Foundation
import Tokenizer

/// Token states as a cache entry stores them. The ids are little-endian Int32; the states take one of two forms,
/// told apart by their length.
public enum TokenStateCoding {
    public enum Form: String, CaseIterable, Sendable {
        /// IEEE half floats, every row: 768 bytes a token at 384 dimensions. What entries stored before the
        /// rotated form, still read; written only to compare the two.
        case half
        /// ``RotatedQuantizer``'s 4 bits a component, without the rows of [CLS] and [SEP], which the verifier
        /// never reads: 198 bytes a token at 384 dimensions. A tag byte, the count and ids of the tokens whose rows
        /// are left out, then the rows.
        case rotated4

        /// The form new entries are stored in.
        public static let stored = Form.rotated4
    }

    static let rotatedTag: UInt8 = 1

    static func encode(_ text: EncodedText, form: Form = .stored, vocabulary: Vocabulary) -> (ids: Data, states: Data) {
        let ids = text.tokenIDs.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
        let dimension = text.tokenIDs.isEmpty ? 0 : text.tokenStates.count / text.tokenIDs.count
        guard form == .rotated4, let quantizer = RotatedQuantizer(dimension: dimension) else {
            let halves = text.tokenStates.map { Float16($0).bitPattern.littleEndian }
            return (ids, halves.withUnsafeBytes { Data($0) })
        }
        let omitted = [vocabulary.classifier, vocabulary.separator]
        var bytes: [UInt8] = [rotatedTag, UInt8(omitted.count)]
        for id in omitted { withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.reserveCapacity(bytes.count + text.tokenIDs.count * quantizer.bytesPerRow)
        for (position, id) in text.tokenIDs.enumerated() where !omitted.contains(id) {
            quantizer.encode(text.tokenStates[position * dimension..<(position + 1) * dimension], into: &bytes)
        }
        return (ids, Data(bytes))
    }

    /// `text` as the verifier sees it once stored in `form` and read back: what a candidate's side of a pair is in
    /// training, replays and benchmarks, so they measure the verifier as it serves.
    static func asStored(_ text: EncodedText, form: Form, vocabulary: Vocabulary) -> EncodedText {
        guard !text.tokenIDs.isEmpty else { return text }
        let stored = encode(text, form: form, vocabulary: vocabulary)
        return decode(ids: stored.ids, states: stored.states, vector: text.vector) ?? text
    }

    /// The entry's encoded prompt, or nil if its stored states are missing or malformed. Rows a form leaves out
    /// are zero.
    static func decode(ids: Data?, states: Data?, vector: [Float]) -> EncodedText? {
        guard let ids, let states, let tokenIDs = tokenIDs(ids), !vector.isEmpty else { return nil }
        let dimension = vector.count
        if states.count == tokenIDs.count * dimension * 2 {
            let floats = states.withUnsafeBytes { raw in
                (0..<states.count / 2).map {
                    Float(
                        Float16(
                            bitPattern: UInt16(
                                littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)
                            )))
                }
            }
            return EncodedText(tokenIDs: tokenIDs, tokenStates: floats, vector: vector)
        }
        guard let quantizer = RotatedQuantizer(dimension: dimension) else { return nil }
        return states.withUnsafeBytes { raw -> EncodedText? in
            guard let (header, omitted) = rotatedLayout(raw, tokenIDs: tokenIDs, quantizer: quantizer) else {
                return nil
            }
            var floats: [Float] = []
            floats.reserveCapacity(tokenIDs.count * dimension)
            var offset = header
            for id in tokenIDs {
                if omitted.contains(id) {
                    floats.append(contentsOf: repeatElement(0, count: dimension))
                } else {
                    quantizer.decode(
                        UnsafeRawBufferPointer(rebasing: raw[offset..<offset + quantizer.bytesPerRow]), into: &floats)
                    offset += quantizer.bytesPerRow
                }
            }
            return EncodedText(tokenIDs: tokenIDs, tokenStates: floats, vector: vector)
        }
    }

    /// Whether `states` of the tokens `ids` have a layout ``decode(ids:states:vector:)`` reads for rows of
    /// `dimension`, checked without decoding a row (what an import of many entries can afford).
    static func isWellFormed(ids: Data, states: Data, dimension: Int) -> Bool {
        guard let tokenIDs = tokenIDs(ids), dimension > 0 else { return false }
        if states.count == tokenIDs.count * dimension * 2 { return true }
        guard let quantizer = RotatedQuantizer(dimension: dimension) else { return false }
        return states.withUnsafeBytes { rotatedLayout($0, tokenIDs: tokenIDs, quantizer: quantizer) != nil }
    }

    private static func tokenIDs(_ ids: Data) -> [Int32]? {
        guard !ids.isEmpty, ids.count % 4 == 0 else { return nil }
        return ids.withUnsafeBytes { raw in
            (0..<ids.count / 4).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        }
    }

    /// Where the rows of a rotated blob start and which token ids it leaves out, if its length is that of
    /// `tokenIDs`' kept rows.
    private static func rotatedLayout(_ raw: UnsafeRawBufferPointer, tokenIDs: [Int32], quantizer: RotatedQuantizer)
        -> (header: Int, omitted: Set<Int32>)?
    {
        guard raw.count >= 2, raw[0] == rotatedTag else { return nil }
        let header = 2 + 4 * Int(raw[1])
        guard raw.count >= header else { return nil }
        let omitted = Set(
            (0..<Int(raw[1])).map {
                Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 2 + 4 * $0, as: Int32.self))
            })
        let kept = tokenIDs.filter { !omitted.contains($0) }.count
        guard raw.count == header + kept * quantizer.bytesPerRow else { return nil }
        return (header, omitted)
    }
}
