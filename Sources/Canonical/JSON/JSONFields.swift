/// Typed reading of a JSON object's fields with errors that name the offending parameter, as in
/// `messages[2].content must be a string or an array`.
package struct JSONFields {
    package let object: [String: JSONValue]
    /// The path of this object in the request, "" at the top.
    package let path: String

    package init(_ value: JSONValue, path: String = "") throws(GatewayError) {
        guard let object = value.object else {
            throw .invalid(
                path.isEmpty ? "The request body must be a JSON object." : "`\(path)` must be an object.",
                param: path.isEmpty ? nil : path)
        }
        self.object = object
        self.path = path
    }

    package func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The field, treating JSON null as absent.
    package func value(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    package func mismatch(_ key: String, _ expected: String) -> GatewayError {
        .invalid("`\(name(key))` must be \(expected), not \(object[key]?.typeName ?? "missing").", param: name(key))
    }

    package func string(_ key: String) throws(GatewayError) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw mismatch(key, "a string") }
        return string
    }

    package func requiredString(_ key: String) throws(GatewayError) -> String {
        guard let string = try string(key) else { throw .invalid("`\(name(key))` is required.", param: name(key)) }
        return string
    }

    package func bool(_ key: String) throws(GatewayError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.bool else { throw mismatch(key, "a boolean") }
        return bool
    }

    package func number(_ key: String, in range: ClosedRange<Double>? = nil) throws(GatewayError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.number else { throw mismatch(key, "a number") }
        if let range, !range.contains(number) {
            throw .invalid(
                "`\(name(key))` must be between \(range.lowerBound) and \(range.upperBound).", param: name(key))
        }
        return number
    }

    package func integer(_ key: String, atLeast minimum: Int64? = nil) throws(GatewayError) -> Int64? {
        guard let value = value(key) else { return nil }
        guard let integer = value.integer else { throw mismatch(key, "an integer") }
        if let minimum, integer < minimum {
            throw .invalid("`\(name(key))` must be at least \(minimum).", param: name(key))
        }
        return integer
    }

    package func int(_ key: String, atLeast minimum: Int64? = nil) throws(GatewayError) -> Int? {
        guard let integer = try integer(key, atLeast: minimum) else { return nil }
        guard let int = Int(exactly: integer), int < Int(Int32.max) else {
            throw .invalid("`\(name(key))` is too large.", param: name(key))
        }
        return int
    }

    package func int(_ key: String, in range: ClosedRange<Int>) throws(GatewayError) -> Int? {
        guard let int = try int(key) else { return nil }
        guard range.contains(int) else {
            throw .invalid(
                "`\(name(key))` must be between \(range.lowerBound) and \(range.upperBound).", param: name(key))
        }
        return int
    }

    package func array(_ key: String) throws(GatewayError) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard let array = value.array else { throw mismatch(key, "an array") }
        return array
    }

    package func fields(_ key: String) throws(GatewayError) -> JSONFields? {
        guard let value = value(key) else { return nil }
        return try JSONFields(value, path: name(key))
    }

    /// A string or an array of strings, as `stop` may be.
    package func strings(_ key: String) throws(GatewayError) -> [String]? {
        guard let value = value(key) else { return nil }
        if let string = value.string { return [string] }
        guard let array = value.array, array.allSatisfy({ $0.string != nil }) else {
            throw mismatch(key, "a string or an array of strings")
        }
        return array.compactMap(\.string)
    }

    /// The first of `keys` present (protocols accept both camelCase and snake_case spellings).
    package func fields(anyOf keys: String...) throws(GatewayError) -> JSONFields? {
        for key in keys where value(key) != nil { return try fields(key) }
        return nil
    }

    package func string(anyOf keys: String...) throws(GatewayError) -> String? {
        for key in keys where value(key) != nil { return try string(key) }
        return nil
    }

    package func array(anyOf keys: String...) throws(GatewayError) -> [JSONValue]? {
        for key in keys where value(key) != nil { return try array(key) }
        return nil
    }

    /// The fields other than `known`.
    package func remaining(excluding known: Set<String>) -> [String: JSONValue] {
        object.filter { !known.contains($0.key) }
    }
}
