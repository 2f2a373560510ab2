import Foundation

/// Admission of a chat request: the model's authorisation and the key's limits (requests, tokens,
/// parallel calls, budget), on an estimate of its tokens.
extension ChatService {
    /// The key's permit for `request`; a refusal is recorded in the request log and thrown.
    func admit(
        _ request: ChatRequest, principal: Principal, estimate: Int, record: RequestRecord, started: RequestStart
    )
        throws -> KeyPermit
    {
        do {
            return try admission.admit(
                model: request.model, for: .chat, principal: principal, estimatedTokens: estimate)
        } catch {
            recorder.record(record.refused(error, started: started))
            throw error
        }
    }
}
