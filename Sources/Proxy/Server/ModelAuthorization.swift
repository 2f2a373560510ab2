import RouterShiftConfiguration

/// The checks every request makes before it costs anything: the model exists, serves the endpoint asked
/// for, and the caller's key may use it.
extension RoutingCore {
    func authorize(model: String, for endpoint: GatewayConfiguration.Endpoint, principal: Principal)
        throws(GatewayError)
    {
        guard let group = groups[model] else { throw .unknownModel(model) }
        guard group.endpoints.contains(endpoint) else {
            let served = group.endpoints.sorted().map(\.rawValue).joined(separator: ", ")
            throw GatewayError(
                .invalidRequest,
                "The model `\(model)` does not serve \(endpoint.paths[0]); it serves \(served). An operator can add `\(endpoint.rawValue)` to its `endpoints`.",
                param: "model", code: "model_not_supported")
        }
        guard principal.allows(model: model) else {
            throw GatewayError(
                .permission, "This key may not use the model `\(model)`.", param: "model", code: "model_not_allowed")
        }
    }
}
