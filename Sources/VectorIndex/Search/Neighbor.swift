/// A slot of the graph and its distance to the current query (`1 - cosine` for L2-normalised vectors).
struct Neighbor {
    var distance: Float
    var slot: UInt32
}
