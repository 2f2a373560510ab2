/// The scratch matrices of one forward pass, grown to the largest batch seen and reused: a warm workspace
/// makes a forward pass allocate nothing but its result.
///
/// For a batch of T tokens and longest text L: T x (hidden + 3 hidden + hidden + hidden + intermediate) floats
/// plus L x L for attention scores; 4,096 tokens of MiniLM take 47 MB.
final class EncoderWorkspace: @unchecked Sendable {
    private let configuration: BertConfiguration
    private(set) var tokenCapacity = 0
    private(set) var textCapacity = 0
    private(set) var states = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var queryKeyValue = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var context = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var output = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var intermediate = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var scores = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    init(configuration: BertConfiguration) {
        self.configuration = configuration
    }

    deinit {
        for buffer in [states, queryKeyValue, context, output, intermediate, scores] { buffer.deallocate() }
    }

    /// Bytes held by the scratch matrices.
    var bytes: Int {
        let hidden = configuration.hiddenSize
        return (tokenCapacity * (6 * hidden + configuration.intermediateSize) + textCapacity * textCapacity) * 4
    }

    func reserve(tokens: Int, longestText: Int) {
        let hidden = configuration.hiddenSize
        if tokens > tokenCapacity {
            let capacity = max(tokens, tokenCapacity * 3 / 2)
            for buffer in [states, queryKeyValue, context, output, intermediate] { buffer.deallocate() }
            states = .allocate(capacity: capacity * hidden)
            queryKeyValue = .allocate(capacity: capacity * 3 * hidden)
            context = .allocate(capacity: capacity * hidden)
            output = .allocate(capacity: capacity * hidden)
            intermediate = .allocate(capacity: capacity * configuration.intermediateSize)
            tokenCapacity = capacity
        }
        if longestText > textCapacity {
            scores.deallocate()
            scores = .allocate(capacity: longestText * longestText)
            textCapacity = longestText
        }
    }
}
