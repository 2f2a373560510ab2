import BenchmarkSupport
import GRDB
import VectorIndex

// A writer for the crash-recovery test: applies random inserts, updates, removals and small batches to the
// index "crash" in DATABASE until it is killed, appending "begin OP LABELS" before and "done" after each
// committed operation to LOG with one write(2) per line, so the log survives SIGKILL.
//
// usage: vector-index-crash-worker DATABASE LOG SEED FIRST_LABEL
#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 5, let seed = UInt64(arguments[3]), var nextLabel = Int64(arguments[4]) else {
    print("usage: vector-index-crash-worker DATABASE LOG SEED FIRST_LABEL")
    exit(2)
}
let log = open(arguments[2], O_WRONLY | O_CREAT | O_APPEND, 0o644)
func record(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(log, $0.baseAddress, $0.count) }
}

var configuration = Configuration()
configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
let database = try DatabasePool(path: arguments[1], configuration: configuration)
let index = try PersistentHNSWIndex(database: database, name: "crash", dimension: 32)
var live = index.labels
var random = SeededGenerator(seed: seed)
var vectors = ClusteredVectors(dimension: 32, clusters: 16, noise: 0.15, seed: seed)

while true {
    let roll = Int.random(in: 0..<100, using: &random)
    if live.count < 64 || roll < 50 {
        record("begin insert \(nextLabel)")
        try index.insert(vectors.next().vector, label: nextLabel)
        live.append(nextLabel)
        nextLabel += 1
    } else if roll < 65 {
        let labels = (0..<5).map { nextLabel + Int64($0) }
        record("begin insert " + labels.map(String.init).joined(separator: " "))
        try index.insert(contentsOf: labels.map { (label: $0, vector: vectors.next().vector) })
        live.append(contentsOf: labels)
        nextLabel += 5
    } else if roll < 85 {
        let position = Int.random(in: 0..<live.count, using: &random)
        let label = live.remove(at: position)
        record("begin remove \(label)")
        try index.remove(label)
    } else {
        let label = live[Int.random(in: 0..<live.count, using: &random)]
        record("begin update \(label)")
        try index.insert(vectors.next().vector, label: label)
    }
    record("done")
}
