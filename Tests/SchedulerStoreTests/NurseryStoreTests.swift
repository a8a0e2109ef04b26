import Foundation
import GRDB
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
        try await kind.withStore { store, directory in
            try await body(store, directory, try await NurseryFixture.seed(store, capacity: 3, children: 0))
        }
    }

    /// Runs SQL as a person would by hand: psql, or sqlite3 beside the running server.
    func byHand(_ kind: StoreKind, _ directory: URL, _ sql: String) async throws {
        if kind.name == "postgres" {
            _ = try await TestPostgres.execute(sql, for: directory)
        } else {
            let queue = try DatabaseQueue(path: directory.appendingPathComponent("sosched.sqlite").path)
            try await queue.write { try $0.execute(sql: sql) }
        }
    }

    @Test(arguments: StoreKind.all)
    func changesMadeByHandReachEveryServersLedgers(kind: StoreKind) async throws {
        try await withStore(kind) { store, directory, fixture in
            // A second store on the same data: another server (on SQLite, the same file).
            try await kind.withOpened(directory) { other in
                let monday = CivilDate(parsing: "2030-09-02")!
                func morning(_ store: any Store) async throws -> SessionOccupancy? {
                    try await store.occupancy(nurseryID: "almaty-1", from: monday, to: monday).first?.sessions
                        .first { $0.groupID == NurseryFixture.almatyGroup && $0.session == .morning }?.occupancy
                }
                let placed = try await fixture.place(store, child: try await fixture.newAlmatyChild(store), first: "2030-09-02", pattern: "mon:am")
                // Both have the group's ledger cached now.
                #expect(try await morning(store)?.taken == 1)
                #expect(try await morning(other)?.taken == 1)
                try await byHand(kind, directory, "DELETE FROM placement WHERE id = '\(placed.id)'")
                #expect(try await morning(store)?.taken == 0)
                #expect(try await morning(other)?.taken == 0)
                try await byHand(kind, directory, "UPDATE nursery_group SET capacity = 7 WHERE id = '\(NurseryFixture.almatyGroup)'")
                #expect(try await morning(store)?.capacity == 7)
                #expect(try await morning(other)?.capacity == 7)
                try await byHand(kind, directory, "UPDATE nursery SET closures = '\(monday.dayNumber)' WHERE id = 'almaty-1'")
                #expect(try await store.occupancy(nurseryID: "almaty-1", from: monday, to: monday).isEmpty)
                #expect(try await other.occupancy(nurseryID: "almaty-1", from: monday, to: monday).isEmpty)
                // The servers' own changes still move the version once each, so their caches stay warm and right.
                _ = try await fixture.place(other, child: try await fixture.newAlmatyChild(other), first: "2030-09-09", pattern: "mon:am")
                let nextMonday = monday.adding(days: 7)
                #expect(try await store.occupancy(nurseryID: "almaty-1", from: nextMonday, to: nextMonday).first?.sessions.first?.occupancy.taken == 1)
            }
        }
    }

    @Test(arguments: StoreKind.all)
    func aChildMayHoldTwoPlacementsThatNeverMeet(kind: StoreKind) async throws {
        try await withStore(kind) { store, _, fixture in
            let child = try await fixture.newAlmatyChild(store)
            _ = try await store.updateNursery(id: "almaty-1", context: context(), reply: { _ in [] }) { $0.closures = [CivilDate(parsing: "2030-09-16")!] }
            _ = try await fixture.place(store, child: child, first: "2030-09-02", last: "2030-09-16", pattern: "mon:am")
            // Meets the first only on the closed Monday the 16th.
            _ = try await fixture.place(store, child: child, first: "2030-09-16", pattern: "mon-fri:am")
            await #expect {
                _ = try await fixture.place(store, child: child, first: "2030-09-02", last: "2030-09-30", pattern: "wed:am")
            } throws: { error in
                (error as? SchedulerError)?.field == "child_id" && (error as? SchedulerError)?.message.contains("2030-09-18") == true
            }
        }
    }

    @Test(arguments: StoreKind.all)
    func reopeningAClosedDayThatWouldOverfillIsRefused(kind: StoreKind) async throws {
        try await withStore(kind) { store, _, fixture in
            let closed = CivilDate(parsing: "2030-09-02")!
            _ = try await store.updateNursery(id: "almaty-1", context: context(), reply: { _ in [] }) { $0.closures = [closed] }
            // The closed Monday does not count, so a fourth child can be booked from that day on...
            for index in 0..<3 {
                _ = try await fixture.place(
                    store, child: try await fixture.newAlmatyChild(store, name: "\(index)"), first: "2030-09-02", last: "2030-09-03", pattern: "mon-tue:am")
            }
            _ = try await fixture.place(
                store, child: try await fixture.newAlmatyChild(store, name: "extra"), first: "2030-09-02", last: "2030-09-09", pattern: "mon:am")
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
            let rebuilt = try await kind.withOpened(directory) { fresh in try await fresh.occupancy(nurseryID: "almaty-1", from: from, to: to) }
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
            guard
                case .applied(let ended, _) = try await store.endPlacement(
                    id: started.id, from: CivilDate(parsing: "2025-06-02")!, context: context(), reply: { _ in [] })
            else {
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
        let (fixture, placements) = try await kind.withOpened(directory) { store in
            let fixture = try await NurseryFixture.seed(store, capacity: 3, children: 0)
            var placements: [Placement] = []
            for index in 0..<3 {
                placements.append(
                    try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "\(index)"), first: "2030-09-02", pattern: "mon:am"))
            }
            return (fixture, placements)
        }
        try await kind.withOpened(directory) { store in
            _ = try await store.cancelPlacement(id: placements[0].id, context: context(), reply: { _ in [] })
            // One place is free again: one more booking fits, a second does not.
            _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "a"), first: "2030-09-02", pattern: "mon:am")
            let extra = try await fixture.newAlmatyChild(store, name: "b")
            await #expect(throws: BookingRefused.self) {
                try await fixture.place(store, child: extra, first: "2030-09-02", pattern: "mon:am")
            }
        }
    }

    @Test(arguments: StoreKind.all)
    func endingOnAColdCacheKeepsTheCountRight(kind: StoreKind) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (fixture, first) = try await kind.withOpened(directory) { store in
            let fixture = try await NurseryFixture.seed(store, capacity: 2, children: 0)
            let first = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "1"), first: "2030-09-02", pattern: "mon:am")
            _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "2"), first: "2030-09-02", pattern: "mon:am")
            return (fixture, first)
        }
        try await kind.withOpened(directory) { store in
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
        }
    }

    @Test(arguments: StoreKind.all)
    func aRefusedCapacityChangeOnAColdCacheChangesNothing(kind: StoreKind) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try await kind.withOpened(directory) { store in
            let fixture = try await NurseryFixture.seed(store, capacity: 2, children: 0)
            guard
                case .applied(let sosFamily, _) = try await store.registerFamily(
                    Family(id: "", siteID: "almaty", kind: .sos), context: context(), reply: { _ in [] })
            else { throw TestFailure("no family") }
            for index in 0..<2 {
                guard
                    case .applied(let child, _) = try await store.registerChild(
                        Child(id: "", familyID: sosFamily.id, givenName: "\(index)", birthDate: CivilDate(parsing: "2028-01-01")!),
                        context: context(), reply: { _ in [] })
                else { throw TestFailure("no child") }
                _ = try await fixture.place(store, child: child, first: "2030-09-02", pattern: "mon:am")
            }
            return fixture
        }
        try await kind.withOpened(directory) { store in
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
        }
    }
}
