import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// Nursery behaviour every store must have; runs once per `StoreKind`.
struct NurseryStoreTests {
    func context(beforeCommit: @escaping @Sendable () throws -> Void = {}) -> MutationContext {
        MutationContext(actor: "tok_test", method: "test", beforeCommit: beforeCommit)
    }

    func withStore(_ kind: StoreKind, _ body: (any Store, URL, NurseryFixture) async throws -> Void) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await kind.open(directory)
        do {
            let fixture = try await NurseryFixture.seed(store, capacity: 3, children: 0)
            try await body(store, directory, fixture)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    @Test(arguments: StoreKind.all)
    func reopeningAClosedDayThatWouldOverfillIsRefused(kind: StoreKind) async throws {
        try await withStore(kind) { store, _, fixture in
            let closed = CivilDate(parsing: "2030-09-02")!
            _ = try await store.updateNursery(id: "almaty-1", context: context(), reply: { _ in [] }) { $0.closures = [closed] }
            // The closed Monday does not count, so a fourth child can be booked from that day on...
            for index in 0..<3 {
                _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "\(index)"), first: "2030-09-02", last: "2030-09-03", pattern: "mon-tue:am")
            }
            _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "extra"), first: "2030-09-02", last: "2030-09-09", pattern: "mon:am")
            // ...but then the day cannot reopen: it would hold four children for three places.
            await #expect {
                try await store.updateNursery(id: "almaty-1", context: context(), reply: { _ in [] }) { $0.closures = [] }
            } throws: { error in
                (error as? SchedulerError)?.code == .failedPrecondition && (error as? SchedulerError)?.field == "nursery.closures"
            }
            #expect(try await store.nursery(id: "almaty-1")?.closures == [closed])
        }
    }

    @Test(arguments: StoreKind.all)
    func lateCommitsInABatchLeaveNoTraceInTheCache(kind: StoreKind) async throws {
        try await withStore(kind) { store, directory, fixture in
            var children: [Child] = []
            for index in 0..<60 { children.append(try await fixture.newAlmatyChild(store, name: "\(index)")) }
            // Sixty concurrent bookings share transactions; every third is too late to commit.
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, child) in children.enumerated() {
                    group.addTask {
                        let late = index % 3 == 0
                        let booking = BookingInput(
                            childID: child.id, groupID: NurseryFixture.almatyGroup, first: CivilDate(parsing: "2030-09-02")!,
                            last: nil, pattern: try WeeklyPattern(parsing: index % 2 == 0 ? "mon-fri:am" : "mon-fri:pm"))
                        do {
                            _ = try await store.bookPlace(
                                booking, context: context(beforeCommit: { if late { throw SchedulerError(.deadlineExceeded, "late") } }),
                                authorize: { _ in }, reply: { _ in [] })
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            // Three places a session, two sessions: six bookings fit at most.
            #expect(results == 6)
            let from = CivilDate(parsing: "2030-09-02")!, to = CivilDate(parsing: "2030-09-13")!
            let live = try await store.occupancy(nurseryID: "almaty-1", from: from, to: to)
            // A second store on the same file builds its ledgers from the rows alone.
            let fresh = try await kind.open(directory)
            let rebuilt = try await fresh.occupancy(nurseryID: "almaty-1", from: from, to: to)
            try await fresh.close()
            #expect(live == rebuilt)
            #expect(live.first?.sessions.filter { $0.groupID == NurseryFixture.almatyGroup }.map(\.occupancy.taken) == [3, 3])
            let stored = try await store.listPlacements(PlacementFilter(groupID: NurseryFixture.almatyGroup), after: nil, limit: 100).items
            #expect(stored.count == 6)
        }
    }

    @Test(arguments: StoreKind.all)
    func cancelOnlyBeforeTheFirstDayAndEndOnlyInside(kind: StoreKind) async throws {
        try await withStore(kind) { store, _, fixture in
            let child = try await fixture.newAlmatyChild(store)
            let started = try await fixture.place(store, child: child, first: "2025-01-06", last: "2025-12-31", pattern: "mon:am")
            await #expect(throws: SchedulerError.self) {
                try await store.cancelPlacement(id: started.id, context: context(), reply: { _ in [] })
            }
            await #expect(throws: SchedulerError.self) {
                try await store.endPlacement(id: started.id, from: CivilDate(parsing: "2026-02-02")!, context: context(), reply: { _ in [] })
            }
            guard case .applied(let ended, _) = try await store.endPlacement(id: started.id, from: CivilDate(parsing: "2025-06-02")!, context: context(), reply: { _ in [] }) else {
                Issue.record("not applied")
                return
            }
            #expect(ended.last == CivilDate(parsing: "2025-06-01"))
            let future = try await fixture.place(store, child: child, first: "2030-01-07", pattern: "mon:am")
            guard case .applied(let cancelled, _) = try await store.cancelPlacement(id: future.id, context: context(), reply: { _ in [] }) else {
                Issue.record("not applied")
                return
            }
            #expect(cancelled.state == .cancelled)
            let occupancy = try await store.occupancy(nurseryID: "almaty-1", from: CivilDate(parsing: "2030-01-07")!, to: CivilDate(parsing: "2030-01-07")!)
            #expect(occupancy.first?.sessions.allSatisfy { $0.occupancy.taken == 0 } == true)
        }
    }
}

/// Changes made right after a restart, when no ledger is cached yet.
struct ColdCacheTests {
    func context() -> MutationContext { MutationContext(actor: "tok_test", method: "test") }

    @Test(arguments: StoreKind.all)
    func cancellingOnAColdCacheDoesNotFreeAPlaceTwice(kind: StoreKind) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        var store = try await kind.open(directory)
        let fixture = try await NurseryFixture.seed(store, capacity: 3, children: 0)
        var placements: [Placement] = []
        for index in 0..<3 {
            placements.append(try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "\(index)"), first: "2030-09-02", pattern: "mon:am"))
        }
        try await store.close()
        store = try await kind.open(directory)
        _ = try await store.cancelPlacement(id: placements[0].id, context: context(), reply: { _ in [] })
        // One place is free again: one more booking fits, a second does not.
        _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "a"), first: "2030-09-02", pattern: "mon:am")
        let extra = try await fixture.newAlmatyChild(store, name: "b")
        await #expect(throws: BookingRefused.self) {
            try await fixture.place(store, child: extra, first: "2030-09-02", pattern: "mon:am")
        }
        try await store.close()
    }

    @Test(arguments: StoreKind.all)
    func endingOnAColdCacheKeepsTheCountRight(kind: StoreKind) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        var store = try await kind.open(directory)
        let fixture = try await NurseryFixture.seed(store, capacity: 2, children: 0)
        let first = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "1"), first: "2030-09-02", pattern: "mon:am")
        _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "2"), first: "2030-09-02", pattern: "mon:am")
        try await store.close()
        store = try await kind.open(directory)
        _ = try await store.endPlacement(id: first.id, from: CivilDate(parsing: "2030-10-07")!, context: context(), reply: { _ in [] })
        // Before 2030-10-07 both places are still taken.
        let early = try await fixture.newAlmatyChild(store, name: "early")
        await #expect(throws: BookingRefused.self) {
            try await fixture.place(store, child: early, first: "2030-09-09", last: "2030-09-30", pattern: "mon:am")
        }
        // From 2030-10-07 exactly one place is free.
        _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "late"), first: "2030-10-07", pattern: "mon:am")
        let later = try await fixture.newAlmatyChild(store, name: "later")
        await #expect(throws: BookingRefused.self) {
            try await fixture.place(store, child: later, first: "2030-10-07", pattern: "mon:am")
        }
        try await store.close()
    }

    @Test(arguments: StoreKind.all)
    func aRefusedCapacityChangeOnAColdCacheChangesNothing(kind: StoreKind) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        var store = try await kind.open(directory)
        let fixture = try await NurseryFixture.seed(store, capacity: 2, children: 0)
        guard case .applied(let sosFamily, _) = try await store.registerFamily(Family(id: "", siteID: "almaty", kind: .sos), context: context(), reply: { _ in [] })
        else { throw TestFailure("no family") }
        for index in 0..<2 {
            guard case .applied(let child, _) = try await store.registerChild(
                Child(id: "", familyID: sosFamily.id, givenName: "\(index)", birthDate: CivilDate(parsing: "2028-01-01")!),
                context: context(), reply: { _ in [] })
            else { throw TestFailure("no child") }
            _ = try await fixture.place(store, child: child, first: "2030-09-02", pattern: "mon:am")
        }
        try await store.close()
        store = try await kind.open(directory)
        // Capacity 4 with 3 reserved for local families leaves SOS families 1 place: refused (two hold places).
        await #expect(throws: SchedulerError.self) {
            try await store.updateGroup(id: NurseryFixture.almatyGroup, context: context(), reply: { _ in [] }) { group in
                group.capacity = 4
                group.reservedLocal = 3
            }
        }
        #expect(try await store.group(id: NurseryFixture.almatyGroup)?.capacity == 2)
        // The group still has 2 places, both taken: a local child does not fit.
        let third = try await fixture.newAlmatyChild(store, name: "third")
        await #expect(throws: BookingRefused.self) {
            try await fixture.place(store, child: third, first: "2030-09-02", pattern: "mon:am")
        }
        try await store.close()
    }
}
