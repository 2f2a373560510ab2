import Foundation
import RouterShiftConfiguration
import ShippedData

/// Prices per model, from `data/prices.json` (built in) or `pricing.file`, with overrides from the configuration. A model matches its
/// longest listed prefix, so dated versions (`gpt-4o-2024-08-06`) find their family's price.
public struct PriceTable: Sendable {
    private let prices: [String: ModelPrice]

    public init(prices: [String: ModelPrice]) {
        self.prices = prices
    }

    /// The table a configuration names, with its overrides: the table file, or the one built into the
    /// binary (`data/prices.json`) when `file` is nil.
    ///
    /// - Throws: ``GatewayError`` when the named file cannot be read or is not a price table.
    public init(file: String?, overrides: [String: ModelPrice]) throws {
        struct Table: Decodable { let models: [String: ModelPrice] }
        let bytes: Data
        if let file {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw GatewayError(.internalError, "the price table \(file) (pricing.file) cannot be read")
            }
            bytes = contents
        } else {
            bytes = Data(ShippedData.prices)
        }
        var prices: [String: ModelPrice]
        do {
            prices = try JSONDecoder().decode(Table.self, from: bytes).models
        } catch {
            throw GatewayError(.internalError, "the price table \(file ?? "built in") is unreadable: \(error)")
        }
        prices.merge(overrides) { _, override in override }
        self.prices = prices
    }

    public func price(for model: String) -> ModelPrice? {
        if let exact = prices[model] { return exact }
        let candidates = prices.keys.filter {
            model.hasPrefix($0) && model.dropFirst($0.count).first.map { "-:@.".contains($0) } == true
        }
        return candidates.max { $0.count < $1.count }.flatMap { prices[$0] }
    }

    /// Dollars for `usage` at `model`'s price; nil when the price is unknown.
    public func cost(of usage: Usage, model: String) -> Double? {
        price(for: model)?.cost(of: usage)
    }
}

extension ModelPrice {
    /// Dollars for `usage`, prompt tokens from the provider's cache at the cached price.
    public func cost(of usage: Usage) -> Double {
        let cached = usage.cachedPromptTokens ?? 0
        let uncached = max(usage.promptTokens - cached, 0)
        let prompt = Double(uncached) * input + Double(cached) * (cachedInput ?? input)
        return (prompt + Double(usage.completionTokens) * output) / 1_000_000
    }
}
