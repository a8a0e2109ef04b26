import NIOCore
import SchedulerWire

/// The messages of a server-streaming call, as they arrive. Iterating ends when the server's
/// final status is OK and throws `RPCError` otherwise; the socket is read only as fast as the
/// messages are consumed. Cancelling the iterating task, or dropping the sequence, sends Cancel.
public struct ResponseStream<Response: WireMessage>: AsyncSequence, Sendable {
    public typealias Element = Response
    typealias Replies = NIOThrowingAsyncSequenceProducer<
        Reply, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, StreamFlow
    >

    let replies: Replies
    /// Cancels the local deadline timer when the stream ends.
    let onEnd: @Sendable () -> Void

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: replies.makeAsyncIterator(), onEnd: onEnd) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Replies.AsyncIterator
        let onEnd: @Sendable () -> Void
        var done = false

        public mutating func next() async throws -> Response? {
            guard !done else { return nil }
            let reply: Reply?
            do {
                reply = try await base.next()
            } catch ConnectionFailure.notStarted(let status), ConnectionFailure.closed(let status) {
                done = true
                onEnd()
                throw RPCError(Status(.unavailable, status.message))
            } catch is CancellationError {
                done = true
                onEnd()
                throw RPCError(Status(.cancelled, "the stream was cancelled"))
            }
            guard let reply else {
                done = true
                onEnd()
                throw RPCError(Status(.unavailable, "the stream ended without a final status"))
            }
            if !reply.endOfStream {
                do {
                    return try WireCodec.decode(Response.self, from: reply.payload)
                } catch {
                    done = true
                    onEnd()
                    throw RPCError(Status(.internal, "the server's message does not decode as \(Response.protoName): \(error.message)"))
                }
            }
            done = true
            onEnd()
            guard reply.status.code == .ok else { throw RPCError(reply.status) }
            return nil
        }
    }
}
