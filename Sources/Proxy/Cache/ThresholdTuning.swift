import Foundation

/// Two texts and whether they ask the same thing.
public struct LabelledPair: Sendable, Equatable {
    public let first: String
    public let second: String
    public let isDuplicate: Bool

    public init(first: String, second: String, isDuplicate: Bool) {
        self.first = first
        self.second = second
        self.isDuplicate = isDuplicate
    }

    /// Reads pairs from a CSV with columns `question1,question2,is_duplicate` (QQP) or a JSON array of
    /// `{origin, similar}` positives.
    public static func load(path: String) throws -> [LabelledPair] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        if path.hasSuffix(".json") {
            guard let items = try JSONValue.parse(data).array else {
                throw GatewayError.invalid("\(path): expected a JSON array")
            }
            return items.compactMap { item in
                guard let origin = item["origin"]?.string, let similar = item["similar"]?.string else { return nil }
                return LabelledPair(first: origin, second: similar, isDuplicate: true)
            }
        }
        let rows = CSVReader.rows(String(decoding: data, as: UTF8.self))
        guard let header = rows.first, let first = header.firstIndex(of: "question1"),
            let second = header.firstIndex(of: "question2"),
            let label = header.firstIndex(of: "is_duplicate")
        else { throw GatewayError.invalid("\(path): expected the columns question1, question2, is_duplicate") }
        return rows.dropFirst().compactMap { row in
            guard row.count > max(first, second, label) else { return nil }
            return LabelledPair(first: row[first], second: row[second], isDuplicate: row[label] == "1")
        }
    }
}

/// Precision, recall and false-hit rate of a similarity threshold over labelled pairs.
public struct ThresholdPoint: Sendable, Equatable {
    public let threshold: Double
    public let precision: Double
    public let recall: Double
    public let f1: Double
    /// Wrong hits over all non-duplicate pairs: unlike precision, independent of how many duplicates a set holds.
    public let falseHitRate: Double
    /// The counts behind the false-hit rate: non-duplicates at or above the threshold, and all non-duplicates.
    public let falseHits: Int
    public let negatives: Int
}

/// How a score separates duplicates from the rest, threshold by threshold.
public struct ThresholdReport: Sendable {
    public let points: [ThresholdPoint]
    public let averagePrecision: Double
    /// The lowest threshold whose false-hit rate is at most the maximum asked for.
    public let recommendedThreshold: Double?
    public let maxFalseHitRate: Double
    public let pairs: Int
    public let duplicates: Int

    /// - Parameters:
    ///   - scores: one per pair, higher meaning more alike (a cosine, or a verifier's probability).
    ///   - thresholds: the thresholds to report, ascending.
    public init(scores: [Double], labels: [Bool], thresholds: [Double], maxFalseHitRate: Double) {
        precondition(scores.count == labels.count)
        let positives = labels.filter { $0 }.count
        let negatives = labels.count - positives
        points = thresholds.map { threshold in
            var truePositives = 0
            var falsePositives = 0
            for (score, label) in zip(scores, labels) where score >= threshold {
                if label { truePositives += 1 } else { falsePositives += 1 }
            }
            let predicted = truePositives + falsePositives
            let precision = predicted == 0 ? 1 : Double(truePositives) / Double(predicted)
            let recall = positives == 0 ? 0 : Double(truePositives) / Double(positives)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            return ThresholdPoint(
                threshold: threshold, precision: precision, recall: recall, f1: f1,
                falseHitRate: negatives == 0 ? 0 : Double(falsePositives) / Double(negatives),
                falseHits: falsePositives, negatives: negatives)
        }
        // Average precision: the mean of the precision at each duplicate, pairs ranked by score.
        var seen = 0
        var hits = 0
        var sum = 0.0
        for index in scores.indices.sorted(by: { scores[$0] > scores[$1] }) {
            seen += 1
            if labels[index] {
                hits += 1
                sum += Double(hits) / Double(seen)
            }
        }
        averagePrecision = positives == 0 ? 0 : sum / Double(positives)
        recommendedThreshold = negatives == 0 ? nil : points.first { $0.falseHitRate <= maxFalseHitRate }?.threshold
        self.maxFalseHitRate = maxFalseHitRate
        pairs = labels.count
        duplicates = positives
    }

    /// 0.70 to 0.98 in steps of 0.01.
    public static let cosineThresholds = (70...98).map { Double($0) / 100 }
}

/// A minimal RFC 4180 reader: quoted fields with commas, doubled quotes and newlines.
enum CSVReader {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let value = pending {
                pending = nil
                return value
            }
            return iterator.next()
        }
        while let scalar = next() {
            if quoted {
                if scalar == "\"" {
                    if let following = next() {
                        if following == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            quoted = false
                            pending = following
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty: quoted = true
            case ",":
                row.append(field)
                field = ""
            case "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            case "\r": continue
            default: field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
