import SchedulerCore
import Synchronization

/// Capacity ledgers of recently used groups, each valid for one `ledger_version` of its group.
/// A change to a group's placements, capacity or nursery calendar bumps the version in the same
/// transaction, so a ledger is rebuilt from the database whenever the cached one is stale,
/// whoever made the change.
final class LedgerCache: Sendable {
    private struct Entry {
        var version: Int64
        var ledger: CapacityLedger
    }

    private let entries = Mutex<[String: Entry]>([:])
    let capacity: Int

    init(capacity: Int = 256) { self.capacity = capacity }

    func ledger(group: String, version: Int64) -> CapacityLedger? {
        entries.withLock { entries in
            guard let entry = entries[group], entry.version == version else { return nil }
            return entry.ledger
        }
    }

    func store(group: String, version: Int64, ledger: CapacityLedger) {
        entries.withLock { entries in
            if let existing = entries[group], existing.version > version { return }
            if entries.count >= capacity, entries[group] == nil { entries.removeAll(keepingCapacity: true) }
            entries[group] = Entry(version: version, ledger: ledger)
        }
    }
}
