import Dispatch
import GRDB
import SchedulerCore
import Synchronization

/// Group commit: write jobs that arrive while a transaction is committing wait, then run
/// together in the next transaction, so they share one fsync. Each job runs in a savepoint of
/// its own, so a job that fails rolls back alone; jobs learn their outcome only after the
/// transaction has committed (or failed, which fails them all).
final class WriteBatcher: Sendable {
    /// State one batch's jobs share (the nursery ledgers they have changed, for instance).
    final class Batch {
        var values: [ObjectIdentifier: Any] = [:]
        var afterCommit: [() -> Void] = []
        /// Undoes the current job's changes to `values`' contents if the job fails (its
        /// savepoint rolls back); emptied after every job.
        var undo: [() -> Void] = []
    }

    private struct Job: Sendable {
        /// Runs inside the transaction; returns what to do once the batch's fate is known.
        let run: @Sendable (Database, Batch) -> Outcome
        /// Fails a job that never ran (the transaction could not start).
        let fail: @Sendable (any Error) -> Void
    }

    private struct Outcome: Sendable {
        let committed: @Sendable () -> Void
        let failed: @Sendable (any Error) -> Void
    }

    private struct State {
        var queue: [Job] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "sosched.store.writer")
    /// Most jobs in one transaction, so a flood cannot make one transaction (and its latency) huge.
    let maxBatch: Int

    /// Most writes waiting at once; more are refused with RESOURCE_EXHAUSTED rather than queued without end.
    let maxQueued: Int

    init(pool: DatabasePool, maxBatch: Int = 512, maxQueued: Int = 20_000) {
        self.pool = pool
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
    }

    /// Runs `work` in the next batch's transaction and returns its result once committed.
    func submit<T: Sendable>(_ work: @escaping @Sendable (Database, Batch) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db, batch in
                    // A job that fails leaves the batch's shared state as it found it.
                    defer { batch.undo.removeAll() }
                    do {
                        // A savepoint per job, through the statement cache (this runs once per write).
                        try db.run(sql: "SAVEPOINT job")
                        let value: T
                        do {
                            value = try work(db, batch)
                        } catch {
                            try db.run(sql: "ROLLBACK TO SAVEPOINT job")
                            try db.run(sql: "RELEASE SAVEPOINT job")
                            throw error
                        }
                        try db.run(sql: "RELEASE SAVEPOINT job")
                        return Outcome(
                            committed: { continuation.resume(returning: value) },
                            failed: { continuation.resume(throwing: $0) })
                    } catch {
                        // This job's savepoint is rolled back; it fails whatever happens to the batch.
                        for action in batch.undo.reversed() { action() }
                        return Outcome(committed: { continuation.resume(throwing: error) }, failed: { _ in continuation.resume(throwing: error) })
                    }
                }, fail: { continuation.resume(throwing: $0) })
            let limit = maxQueued
            let start = state.withLock { state -> Bool? in
                guard state.queue.count < limit else { return nil }
                state.queue.append(job)
                if state.draining { return false }
                state.draining = true
                return true
            }
            switch start {
            case nil:
                continuation.resume(
                    throwing: SchedulerError(
                        .resourceExhausted, "the store has \(limit) writes waiting; try again shortly"))
            case true?:
                queue.async { self.drain() }
            case false?:
                break
            }
        }
    }

    private func drain() {
        while true {
            let jobs = state.withLock { state -> [Job] in
                let taken = Array(state.queue.prefix(maxBatch))
                state.queue.removeFirst(taken.count)
                if taken.isEmpty { state.draining = false }
                return taken
            }
            if jobs.isEmpty { return }
            let batch = Batch()
            var outcomes: [Outcome] = []
            do {
                try pool.write { db in
                    outcomes = jobs.map { $0.run(db, batch) }
                }
                for action in batch.afterCommit { action() }
                for outcome in outcomes { outcome.committed() }
            } catch {
                for index in jobs.indices {
                    if index < outcomes.count { outcomes[index].failed(error) } else { jobs[index].fail(error) }
                }
            }
        }
    }
}
