import Foundation

/// A budget's period, in UTC: the spend counted against it starts at the period's start.
public enum BudgetPeriod: String, Sendable, CaseIterable {
    case day, week, month, total

    /// The start of the period that contains `time`; weeks start on Monday.
    public func start(containing time: Double) -> Double {
        switch self {
        case .day: return (time / 86400).rounded(.down) * 86400
        case .week:
            let day = (time / 86400).rounded(.down)
            let weekday = (Int(day) + 3) % 7  // 1970-01-01 was a Thursday; 0 is Monday.
            return (day - Double(weekday)) * 86400
        case .month:
            let calendar = Self.calendar
            let components = calendar.dateComponents([.year, .month], from: Date(timeIntervalSince1970: time))
            return calendar.date(from: components)!.timeIntervalSince1970
        case .total: return -Double.infinity
        }
    }

    /// The start of the next period; nil for `total`, which never ends.
    public func end(ofPeriodStarting start: Double) -> Double? {
        switch self {
        case .day: return start + 86400
        case .week: return start + 7 * 86400
        case .month:
            let date = Self.calendar.date(byAdding: .month, value: 1, to: Date(timeIntervalSince1970: start))!
            return date.timeIntervalSince1970
        case .total: return nil
        }
    }

    public var adjective: String {
        switch self {
        case .day: "daily"
        case .week: "weekly"
        case .month: "monthly"
        case .total: "total"
        }
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
