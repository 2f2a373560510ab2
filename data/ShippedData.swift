/// The data files RouterShift ships, built into the binary: `prices.json` and `verifier.json` beside this
/// file, embedded by SwiftPM at build time (so editing either file and rebuilding is all it takes).
public enum ShippedData {
    /// `data/prices.json`: list prices in dollars per million tokens.
    public static var prices: [UInt8] { PackageResources.prices_json }
    /// `data/verifier.json`: the semantic-hit verifier's parameters, as `routershift cache train-verifier` wrote them.
    public static var verifier: [UInt8] { PackageResources.verifier_json }
}
