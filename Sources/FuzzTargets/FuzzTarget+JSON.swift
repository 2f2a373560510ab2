import Canonical

extension FuzzTarget {
    /// The JSON parser and writer: what the parser accepts, the writer writes as JSON the parser accepts,
    /// the same value whatever the key order, and the sorted form is a fixed point. (The writer writes an
    /// integral double as an integer, so a value may change kind, `2.0` becoming `2`, never its sorted text
    /// once written.)
    static let json = FuzzTarget("json", "JSONValue.parse, then write, parse and write again") { input in
        guard let value = try? JSONValue.parse(input) else { return }
        let sorted = value.serialized(sortedKeys: true)
        for written in [value.serialized(), sorted] {
            guard let again = try? JSONValue.parse(written) else {
                require(false, "the writer wrote JSON the parser refuses: \(String(decoding: written, as: UTF8.self))")
                return
            }
            let rewritten = again.serialized(sortedKeys: true)
            require(
                rewritten == sorted,
                "writing is not a fixed point: \(String(decoding: sorted, as: UTF8.self)) became "
                    + String(decoding: rewritten, as: UTF8.self))
        }
    }
}
