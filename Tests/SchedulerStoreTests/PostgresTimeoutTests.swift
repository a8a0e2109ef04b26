import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Synchronization
import Testing

/// A statement that waits on rows locked elsewhere (another server, someone's `psql`) ends at
/// the store's lock timeout or statement timeout, with a status that says so, instead of
/// holding the call and a connection for as long as the other transaction lasts.
@Suite(.timeLimit(.minutes(2)))
struct PostgresTimeoutTests {
    final class Flag: Sendable { let value = Atomic<Bool>(false) }

    func context() -> MutationContext { MutationContext(actor: nil, method: "/test/Timeout") }

    /// Renames the site while `FOR UPDATE` on its row is held from outside; returns how the rename ended.
    func renameWhileLocked(statementTimeout: Duration, lockTimeout: Duration) async throws -> (error: SchedulerError?, waited: Duration) {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (outcome, waited) = try await TestPostgres.withStore(for: directory, statementTimeout: statementTimeout, lockTimeout: lockTimeout) { store in
            _ = try await store.createSite(Site(id: "almaty", name: "Almaty", timeZone: "Asia/Almaty"), context: context()) { _ in [] }
            let held = try await TestPostgres.holdLocks("SELECT * FROM site WHERE id = 'almaty' FOR UPDATE", for: directory)
            let started = ContinuousClock.now
            let done = Flag()
            let rename = Task {
                defer { done.value.store(true, ordering: .releasing) }
                return try await store.updateSite(id: "almaty", context: context(), reply: { _ in [] }) { $0.name = "Renamed" }
            }
            // Without the timeouts the rename would wait for as long as the lock is held: give up after 20 s.
            while ContinuousClock.now - started < .seconds(20), !done.value.load(ordering: .acquiring) {
                try await Task.sleep(for: .milliseconds(50))
            }
            let waited = ContinuousClock.now - started
            try await held.release()
            let outcome = await rename.result
            return (outcome, waited)
        }
        switch outcome {
        case .success:
            Issue.record("the rename waited \(waited) for the lock and then went through")
            return (nil, waited)
        case .failure(let error as SchedulerError):
            return (error, waited)
        case .failure(let error):
            Issue.record("unexpected error \(String(reflecting: error))")
            return (nil, waited)
        }
    }

    @Test func aLockHeldElsewhereEndsAtTheLockTimeoutAsUnavailable() async throws {
        let (error, waited) = try await renameWhileLocked(statementTimeout: .seconds(30), lockTimeout: .seconds(1))
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("--store-lock-timeout") == true, "\(String(describing: error))")
        #expect(waited < .seconds(15))
    }

    @Test func aStatementPastTheStatementTimeoutIsDeadlineExceeded() async throws {
        let (error, waited) = try await renameWhileLocked(statementTimeout: .seconds(1), lockTimeout: .seconds(30))
        #expect(error?.code == .deadlineExceeded, "\(String(describing: error))")
        #expect(error?.message.contains("--store-statement-timeout") == true, "\(String(describing: error))")
        #expect(waited < .seconds(15))
    }
}
