import Canonical

/// The function tool and `tool_choice` fields OpenAI's two APIs share: chat completions nest a tool's
/// definition under `function` and the Responses API keeps it at the tool's top level, but both read the same
/// fields, and both take `tool_choice` as a mode string or an object naming a function.
extension ToolDefinition {
    /// A function's `name`, `description`, `parameters` and `strict`, read from `fields`.
    package init(function fields: JSONFields) throws(GatewayError) {
        self.init(
            name: try fields.requiredString("name"), description: try fields.string("description"),
            parameters: fields.value("parameters"), strict: try fields.bool("strict"))
    }
}

extension ToolChoice {
    /// `tool_choice` from `fields`: `auto`, `none`, `required`, or an object whose function `functionName`
    /// reads (nil when the object is not that form).
    ///
    /// - Throws: a 400 naming `tool_choice`, saying it must be one of those or `objectForm`.
    package static func openAI(
        _ fields: JSONFields, objectForm: String, functionName: (JSONFields) throws(GatewayError) -> String?
    ) throws(GatewayError) -> ToolChoice? {
        guard let value = fields.value("tool_choice") else { return nil }
        switch value.string {
        case "auto": return .auto
        case "none": return ToolChoice.none
        case "required": return .required
        case nil:
            if let name = try functionName(try JSONFields(value, path: "tool_choice")) { return .function(name) }
        default: break
        }
        throw .invalid("`tool_choice` must be auto, none, required or \(objectForm).", param: "tool_choice")
    }
}
