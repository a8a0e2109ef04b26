import SchedulerCore
import Synchronization

/// Capacity ledgers of recently used groups, each valid for one `ledger_version` of its group.
/// A change to a group's placements, capacity or nursery calendar bumps the version in the same
/// transaction, so a ledger is rebuilt from the database whenever the cached one is stale,
/// whoever made the change.
///
/// The cache is bounded by the ledgers' size (change points, 28 bytes each), not by their
/// number: past the budget the least recently used ledgers go first.
final class LedgerCache: Sendable {
    private struct Entry {
        var version: Int64
        var ledger: CapacityLedger
        var size: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var size = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Most change points held in all cached ledgers together (default 2 million, about 56 MB).
    let budget: Int

    init(budget: Int = 2_000_000) { self.budget = budget }

    func ledger(group: String, version: Int64) -> CapacityLedger? {
        state.withLock { state in
            guard let entry = state.entries[group], entry.version == version else { return nil }
            state.clock += 1
            state.entries[group]?.lastUse = state.clock
            return entry.ledger
        }
    }

    func store(group: String, version: Int64, ledger: CapacityLedger) {
        let size = ledger.changePointCount
        state.withLock { state in
            if let existing = state.entries[group] {
                if existing.version > version { return }
                state.size -= existing.size
            }
            state.clock += 1
            state.entries[group] = Entry(version: version, ledger: ledger, size: size, lastUse: state.clock)
            state.size += size
            guard state.size > budget else { return }
            // Over budget: drop the least recently used ledgers (never the one just stored).
            for (name, entry) in state.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) where name != group {
                state.entries[name] = nil
                state.size -= entry.size
                if state.size <= budget { break }
            }
        }
    }

    /// Change points held (for tests and diagnostics).
    var heldChangePoints: Int { state.withLock { $0.size } }
}
