import Foundation

/// Prices per model, from `data/prices.json` with overrides from the configuration. A model matches its
/// longest listed prefix, so dated versions (`gpt-4o-2024-08-06`) find their family's price.
public struct PriceTable: Sendable {
    private let prices: [String: ModelPrice]

    public init(prices: [String: ModelPrice]) {
        self.prices = prices
    }

    /// Reads the table file and applies `overrides`.
    public init(file: String, overrides: [String: ModelPrice]) throws {
        struct Table: Decodable { let models: [String: ModelPrice] }
        var prices: [String: ModelPrice] = [:]
        if FileManager.default.fileExists(atPath: file) {
            do {
                prices = try JSONDecoder().decode(Table.self, from: Data(contentsOf: URL(fileURLWithPath: file))).models
            } catch {
                throw GatewayError(.internalError, "the price table \(file) is unreadable: \(error)")
            }
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
