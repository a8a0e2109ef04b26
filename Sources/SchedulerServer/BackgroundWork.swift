import Foundation
import Synchronization

/// Long computations of a call (week planning, a mentor batch) run on a thread of their own: they
/// compute for up to seconds, which would hold one of the few threads that run every call. Their
/// progress goes to the caller at most once per `interval`, and the call's cancellation (or a
/// failed send: the caller is gone) tells the work to stop.
enum BackgroundWork {
    static func run<Progress: Sendable, Result: Sendable>(
        progressEvery interval: Duration,
        _ work: @escaping @Sendable (_ isStopped: @escaping @Sendable () -> Bool, _ progress: @escaping @Sendable (Progress) -> Void) -> Result,
        progress send: @escaping @Sendable (Progress) async throws -> Void
    ) async throws -> Result {
        let (updates, feed) = AsyncStream<Progress>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let stopping = StopFlag()
        return try await withTaskCancellationHandler {
            // A thread of its own, not a shared queue's: a few long jobs must not hold up every other.
            async let result: Result = withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
                let thread = Thread {
                    let result = work({ stopping.isSet }, { feed.yield($0) })
                    feed.finish()
                    continuation.resume(returning: result)
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            let clock = ContinuousClock()
            var last: ContinuousClock.Instant?
            // The latest update held back by the interval: sent when the work ends, so the
            // caller's last progress is where the work ended.
            var held: Progress?
            do {
                for await update in updates {
                    if let last, clock.now - last < interval {
                        held = update
                        continue
                    }
                    last = clock.now
                    held = nil
                    try await send(update)
                }
                if let held { try await send(held) }
            } catch {
                stopping.set()
                _ = await result
                throw error
            }
            let finished = await result
            try Task.checkCancellation()
            return finished
        } onCancel: {
            stopping.set()
        }
    }
}

/// Set once, read from the working thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
