import Foundation

/// One result row: named figures in a fixed order, printed as a table line or a JSON object.
struct ResultRow {
    enum Value {
        case int(Int)
        case double(Double, digits: Int)
        case string(String)
        case bool(Bool)

        var json: Any {
            switch self {
            case .int(let value): value
            case .double(let value, _): value.isFinite ? value : NSNull()
            case .string(let value): value
            case .bool(let value): value
            }
        }

        var text: String {
            switch self {
            case .int(let value): String(value)
            case .double(let value, let digits): value.isFinite ? String(format: "%.\(digits)f", value) : "-"
            case .string(let value): value
            case .bool(let value): value ? "yes" : "no"
            }
        }
    }

    var fields: [(String, Value)] = []

    subscript(name: String) -> Value? { fields.first { $0.0 == name }?.1 }

    mutating func set(_ name: String, _ value: Value) {
        if let index = fields.firstIndex(where: { $0.0 == name }) {
            fields[index].1 = value
        } else {
            fields.append((name, value))
        }
    }

    func jsonLine() -> String {
        var object: [String: Any] = [:]
        for (name, value) in fields { object[name] = value.json }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// A row read back from a peer's JSON line.
    init(json line: Substring) throws {
        guard let object = try? JSONDecoder().decode([String: PeerValue].self, from: Data(line.utf8)) else {
            throw BenchmarkError("peer printed a line that is not a flat JSON object: \(line)")
        }
        for (name, value) in object.sorted(by: { $0.key < $1.key }) {
            if let value = value.value { set(name, value) }
        }
    }

    init(_ fields: [(String, Value)]) { self.fields = fields }
}

/// A scalar of a peer's JSON row.
private struct PeerValue: Decodable {
    let value: ResultRow.Value?

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            value = .bool(bool)
        } else if let int = try? container.decode(Int.self) {
            value = .int(int)
        } else if let double = try? container.decode(Double.self) {
            value = .double(double, digits: 3)
        } else if let string = try? container.decode(String.self) {
            value = .string(string)
        } else {
            value = nil
        }
    }
}

/// Prints a table with a header and aligned columns.
func printTable(title: String, columns: [String], rows: [[String]]) {
    let widths = columns.indices.map { column in
        max(columns[column].count, rows.map { $0[column].count }.max() ?? 0)
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print("\n" + title)
    print(line(columns))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in rows { print(line(row)) }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Progress for a human, on standard error so JSON output stays clean.
func progress(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

extension ResultRow {
    /// A numeric figure of the row, whatever its JSON type.
    func number(_ name: String) -> Double? {
        switch self[name] {
        case .int(let value): Double(value)
        case .double(let value, _): value
        default: nil
        }
    }
}

/// `ours / theirs` as text, or "-" when either is missing.
func ratio(_ ours: Double?, _ theirs: Double?) -> String {
    guard let ours, let theirs, theirs > 0, ours.isFinite else { return "-" }
    return String(format: "%.2fx", ours / theirs)
}
