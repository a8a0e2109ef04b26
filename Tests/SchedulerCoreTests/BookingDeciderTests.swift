import Foundation
import SchedulerCore
import Testing

/// `BookingDecider` against domain.md's rules for direct bookings: the capacity invariant (with
/// reserves), the age rule, a refusal naming the first full sessions with alternatives, and
/// the store's own rules (one place at a time, same site, days before today).
struct BookingDeciderTests {
    let f = DeciderFixture()

    @Test func aBookingThatFitsIsWrittenWithTheFamilysKindAndItsRecords() throws {
        let child = f.child("chd_a", of: f.sos)
        let outcome = try BookingDecider.decide(
            f.booking(child, first: "2030-09-02", pattern: "mon:am"), f.loaded(child, f.sos), ledger: f.ledger(), placementID: "plc_new", now: f.now)
        guard case .book(let placement, let records) = outcome else {
            Issue.record("refused: \(outcome)")
            return
        }
        #expect(placement.id == "plc_new")
        #expect(placement.kind == .sos)
        #expect(placement.nurseryID == f.nursery.id)
        #expect(placement.first == DeciderFixture.day("2030-09-02"))
        #expect(records == ["placement:plc_new", "child:chd_a", "group:toddlers"])
    }

    /// "for every group, open day and session, the placements that cover it number at most capacity".
    @Test func aFullGroupRefusesAndTheRefusalNamesTheFirstFullSessionAndALaterStart() throws {
        let child = f.child("chd_a", of: f.local)
        // Two places, both taken on Mondays until 2030-09-30.
        let taken = [
            f.placement("p1", kind: .local, first: "2030-09-02", last: "2030-09-30", pattern: "mon:am"),
            f.placement("p2", kind: .sos, first: "2030-09-02", last: "2030-09-30", pattern: "mon:am"),
        ]
        let ledger = f.ledger(taken)
        let outcome = try BookingDecider.decide(
            f.booking(child, first: "2030-09-09", pattern: "mon:am"), f.loaded(child, f.local), ledger: ledger, placementID: "plc_new", now: f.now)
        guard case .full(let request) = outcome else {
            Issue.record("booked into a full group: \(outcome)")
            return
        }
        let refused = try #require(try BookingDecider.refusal(request, nursery: f.nursery, groups: [f.group], ledgers: [f.group.id: ledger]))
        #expect(refused.conflicts.first?.date == DeciderFixture.day("2030-09-09"))
        #expect(refused.conflicts.first?.session == .morning)
        #expect(refused.alternatives.contains { $0.kind == .laterStart && $0.first == DeciderFixture.day("2030-10-07") })
        // One place fewer taken: it fits, and a refusal is nil.
        let fits = try BookingDecider.decide(
            f.booking(child, first: "2030-09-09", pattern: "mon:am"), f.loaded(child, f.local), ledger: f.ledger([taken[0]]), placementID: "plc_new",
            now: f.now)
        #expect(fits != .full(request))
        #expect(try BookingDecider.refusal(request, nursery: f.nursery, groups: [f.group], ledgers: [f.group.id: f.ledger([taken[0]])]) == nil)
    }

    /// "SOS-family placements at most capacity - reserved_local; local-family ones at most capacity - reserved_sos".
    @Test(arguments: [FamilyKind.sos, .local])
    func reservedPlacesAreKeptForTheirKind(kind: FamilyKind) throws {
        var f = self.f
        // Three places, one kept for the other kind; two of this kind already placed.
        f.group.capacity = 3
        if kind == .sos { f.group.reservedLocal = 1 } else { f.group.reservedSOS = 1 }
        let held = [
            f.placement("p1", kind: kind, first: "2030-09-02", pattern: "mon:am"), f.placement("p2", kind: kind, first: "2030-09-02", pattern: "mon:am"),
        ]
        let same = kind == .sos ? f.sos : f.local, other = kind == .sos ? f.local : f.sos
        let child = f.child("chd_a", of: same), otherChild = f.child("chd_b", of: other)
        let refused = try BookingDecider.decide(
            f.booking(child, first: "2030-09-02", pattern: "mon:am"), f.loaded(child, same), ledger: f.ledger(held), placementID: "x", now: f.now)
        guard case .full = refused else {
            Issue.record("a third \(kind) child took the place reserved for the other kind")
            return
        }
        let booked = try BookingDecider.decide(
            f.booking(otherChild, first: "2030-09-02", pattern: "mon:am"), f.loaded(otherChild, other), ledger: f.ledger(held), placementID: "x", now: f.now)
        guard case .book = booked else {
            Issue.record("the reserved place was refused to its own kind")
            return
        }
    }

    /// "a child may be placed in a group only if their age on the placement's first day lies in the group's band".
    @Test func theAgeOnTheFirstDayMustLieInTheGroupsBand() throws {
        // Born 2029-09-10: 11 months on 2030-09-02 (too young), 12 on 2030-09-16.
        let child = f.child("chd_a", of: f.sos, born: "2029-09-10")
        let error = schedulerError {
            try BookingDecider.decide(f.booking(child, first: "2030-09-02"), f.loaded(child, f.sos), ledger: f.ledger(), placementID: "x", now: f.now)
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.field == "group_id")
        let later = try BookingDecider.decide(
            f.booking(child, first: "2030-09-16"), f.loaded(child, f.sos), ledger: f.ledger(), placementID: "x", now: f.now)
        guard case .book = later else {
            Issue.record("a child of 12 months was refused")
            return
        }
    }

    @Test func aFamilyOfAnotherSiteIsRefused() {
        var family = f.sos
        family.siteID = "astana"
        let child = f.child("chd_a", of: family)
        let error = schedulerError {
            try BookingDecider.decide(f.booking(child, first: "2030-09-02"), f.loaded(child, family), ledger: f.ledger(), placementID: "x", now: f.now)
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.field == "group_id")
    }

    /// A child holds one place at a time: a second placement may not take a session the first takes.
    @Test func aChildHoldsOnePlaceAtATime() throws {
        let child = f.child("chd_a", of: f.sos)
        let held = [f.placement("p1", child: child.id, kind: .sos, first: "2030-09-02", pattern: "mon-fri:am")]
        let error = schedulerError {
            try BookingDecider.decide(
                f.booking(child, first: "2030-09-09", pattern: "wed:full"), f.loaded(child, f.sos, held: held), ledger: f.ledger(held),
                placementID: "x", now: f.now)
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.field == "child_id")
        #expect(error?.message.contains("2030-09-11") == true, "\(String(describing: error))")
        // Afternoons only: the two never meet.
        let afternoons = try BookingDecider.decide(
            f.booking(child, first: "2030-09-09", pattern: "mon-fri:pm"), f.loaded(child, f.sos, held: held), ledger: f.ledger(held), placementID: "x",
            now: f.now)
        guard case .book = afternoons else {
            Issue.record("afternoons were refused next to mornings")
            return
        }
    }

    /// Today is the site's: at 20:00 UTC on 2030-09-01 it is already 2030-09-02 in Almaty (UTC+5).
    @Test func aDayBeforeTodayAtTheSiteIsRefusedUnlessItIsACorrection() throws {
        let child = f.child("chd_a", of: f.sos)
        let evening = Date(timeIntervalSince1970: 1_914_523_200)  // 2030-09-01T20:00:00Z
        let refused = schedulerError {
            try BookingDecider.decide(
                f.booking(child, first: "2030-09-01", pattern: "mon-fri:am", pastDays: .refused), f.loaded(child, f.sos), ledger: f.ledger(),
                placementID: "x", now: evening)
        }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.field == "first_day")
        #expect(refused?.message.contains("2030-09-02") == true, "\(String(describing: refused))")
        // The same instant in UTC is still 2030-09-01: not before today.
        var utc = f.loaded(child, f.sos)
        utc.timeZone = nil
        let sameDay = try BookingDecider.decide(
            f.booking(child, first: "2030-09-01", pattern: "mon-fri:am", pastDays: .refused), utc, ledger: f.ledger(), placementID: "x", now: evening)
        #expect(sameDay.records == ["placement:x", "child:chd_a", "group:toddlers"])
        let corrected = try BookingDecider.decide(
            f.booking(child, first: "2030-09-01", pattern: "mon-fri:am", pastDays: .correction), f.loaded(child, f.sos), ledger: f.ledger(),
            placementID: "x", now: evening)
        #expect(corrected.records.contains("correction:first_day"))
    }
}

extension BookingDecider.Outcome {
    var records: [String] {
        guard case .book(_, let records) = self else { return [] }
        return records
    }
}
