import SchedulerCore
import Testing

@testable import SchedulerStore

struct LedgerCacheTests {
    func ledger(placements: Int) -> CapacityLedger {
        let nursery = Nursery(id: "n", siteID: "s", name: "N")
        var ledger = CapacityLedger(group: Group(id: "g", nurseryID: "n", name: "G", minAgeMonths: 0, maxAgeMonths: 99, capacity: 99), nursery: nursery)
        for index in 0..<placements {
            // One slot, one closed week each: two change points in two step functions.
            let monday = CivilDate(parsing: "2030-01-07")!.adding(days: 14 * index)
            ledger.add(PlacementSpan(kind: .local, first: monday, last: monday, pattern: WeeklyPattern([Slot(.monday, .morning)])))
        }
        return ledger
    }

    @Test func staysWithinItsBudgetDroppingTheLeastRecentlyUsed() {
        let small = ledger(placements: 10)
        let size = small.changePointCount
        #expect(size == 40)
        let cache = LedgerCache(budget: size * 2)
        cache.store(group: "a", version: 1, ledger: small)
        cache.store(group: "b", version: 1, ledger: small)
        #expect(cache.ledger(group: "a", version: 1) != nil)  // a is now more recent than b
        cache.store(group: "c", version: 1, ledger: small)
        #expect(cache.heldChangePoints <= size * 2)
        #expect(cache.ledger(group: "b", version: 1) == nil)
        #expect(cache.ledger(group: "a", version: 1) != nil)
        #expect(cache.ledger(group: "c", version: 1) != nil)
    }

    @Test func answersOnlyForTheVersionItHolds() {
        let cache = LedgerCache()
        cache.store(group: "a", version: 2, ledger: ledger(placements: 1))
        #expect(cache.ledger(group: "a", version: 1) == nil)
        #expect(cache.ledger(group: "a", version: 2) != nil)
        // An older version never replaces a newer one.
        cache.store(group: "a", version: 1, ledger: ledger(placements: 3))
        #expect(cache.ledger(group: "a", version: 2)?.changePointCount == ledger(placements: 1).changePointCount)
    }
}
