import Canonical

/// Converts between JSON Schema (what OpenAI's `response_format`, tool parameters and Anthropic's
/// `input_schema` carry, and the canonical form) and Gemini's `Schema`, an OpenAPI 3.0 subset with
/// upper-case type names (`"OBJECT"`) and `nullable` instead of a `"null"` type.
///
/// Towards Gemini, what the subset cannot say is left out: `$ref`s are inlined from `$defs`/`definitions`
/// (cycles stop at ``maximumDepth``), `oneOf` becomes `anyOf`, a `const` becomes a one-value `enum`, and
/// keywords Gemini rejects (`additionalProperties`, `$schema`, `allOf`, ...) are dropped. Both directions
/// cost one walk of the schema.
package enum GeminiSchema {
    /// How deep `$ref`s are inlined before a recursive schema is cut off (an object without properties).
    package static let maximumDepth = 16

    /// The keywords Gemini's `Schema` accepts besides `type`, `properties`, `items` and `anyOf`.
    private static let keptKeywords: Set<String> = [
        "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "required", "minProperties",
        "maxProperties", "minLength", "maxLength", "pattern", "example", "propertyOrdering", "default", "minimum",
        "maximum",
    ]

    // MARK: - JSON Schema to Gemini

    /// `schema` in Gemini's subset.
    package static func gemini(fromJSONSchema schema: JSONValue) -> JSONValue {
        let definitions = schema["$defs"]?.object ?? schema["definitions"]?.object ?? [:]
        return gemini(schema, definitions: definitions, depth: 0)
    }

    private static func gemini(_ schema: JSONValue, definitions: [String: JSONValue], depth: Int) -> JSONValue {
        guard var object = schema.object else { return schema }
        if let reference = object["$ref"]?.string {
            let name = String(reference.split(separator: "/").last ?? "")
            guard depth < maximumDepth, let target = definitions[name] else { return ["type": "OBJECT"] }
            var merged = target.object ?? [:]
            for (key, value) in object where key != "$ref" { merged[key] = value }
            return gemini(.object(merged), definitions: definitions, depth: depth + 1)
        }
        var result: [String: JSONValue] = [:]
        for (key, value) in object where keptKeywords.contains(key) { result[key] = value }
        if let constant = object["const"] { result["enum"] = [constant] }
        if let types = object["type"]?.array {
            let named = types.compactMap(\.string)
            if named.contains("null") { result["nullable"] = true }
            let others = named.filter { $0 != "null" }
            if others.count == 1 {
                object["type"] = .string(others[0])
            } else {
                object["type"] = nil
                if others.count > 1 {
                    result["anyOf"] = .array(others.map { ["type": .string($0.uppercased())] })
                }
            }
        }
        if let type = object["type"]?.string {
            if type == "null" {
                result["nullable"] = true
            } else {
                result["type"] = .string(type.uppercased())
            }
        }
        if let properties = object["properties"]?.object {
            result["properties"] = .object(
                properties.mapValues { gemini($0, definitions: definitions, depth: depth + 1) })
        }
        if let items = object["items"] {
            result["items"] = gemini(items, definitions: definitions, depth: depth + 1)
        }
        if let alternatives = (object["anyOf"] ?? object["oneOf"])?.array {
            var variants: [JSONValue] = []
            for alternative in alternatives {
                if alternative["type"]?.string == "null" {
                    result["nullable"] = true
                } else {
                    variants.append(gemini(alternative, definitions: definitions, depth: depth + 1))
                }
            }
            if variants.count == 1, let only = variants[0].object {
                for (key, value) in only where result[key] == nil { result[key] = value }
            } else if !variants.isEmpty {
                result["anyOf"] = .array(variants)
            }
        }
        return .object(result)
    }

    // MARK: - Gemini to JSON Schema

    /// A Gemini `Schema` as JSON Schema: lower-case types, `nullable` as a `"null"` type, `example` as
    /// `examples`; `propertyOrdering`, which JSON Schema has no word for, is left out.
    package static func jsonSchema(fromGemini schema: JSONValue) -> JSONValue {
        guard let object = schema.object else { return schema }
        var result: [String: JSONValue] = [:]
        for (key, value) in object
        where keptKeywords.contains(key) && !["nullable", "example", "propertyOrdering"].contains(key) {
            result[key] = value
        }
        if let example = object["example"] { result["examples"] = [example] }
        let nullable = object["nullable"]?.bool == true
        if let type = object["type"]?.string, type != "TYPE_UNSPECIFIED" {
            let lowered = JSONValue.string(type.lowercased())
            result["type"] = nullable ? [lowered, "null"] : lowered
        }
        if let properties = object["properties"]?.object {
            result["properties"] = .object(properties.mapValues(jsonSchema(fromGemini:)))
        }
        if let items = object["items"] { result["items"] = jsonSchema(fromGemini: items) }
        if let alternatives = object["anyOf"]?.array {
            var variants = alternatives.map(jsonSchema(fromGemini:))
            if nullable && result["type"] == nil { variants.append(["type": "null"]) }
            result["anyOf"] = .array(variants)
        }
        return .object(result)
    }
}
