import SchedulerCore
import Testing

/// `NurseryChange` against domain.md's capacity invariant: a group's limits, a nursery's
/// calendar and a family's kind change only if every placement still fits (from today on).
struct NurseryChangeTests {
    let f = DeciderFixture()
    let today = DeciderFixture.day("2030-08-01")

    @Test func loweringTheCapacityBelowThePlacementsHeldIsRefused() throws {
        let held = [
            f.placement("p1", kind: .sos, first: "2030-09-02", pattern: "mon:am"), f.placement("p2", kind: .local, first: "2030-09-02", pattern: "mon:am"),
        ]
        var changed = f.group
        changed.capacity = 1
        let (group, limitsChanged, records) = try NurseryChange.group(old: f.group, changed: changed)
        #expect(limitsChanged)
        #expect(records == ["group:toddlers"])
        let error = schedulerError { try NurseryChange.limits(f.ledger(held), group: group, today: today) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.field == "group.capacity")
        #expect(error?.message.contains("2030-09-02") == true)
        // Past placements do not count: from a today after they end, the change is allowed.
        let ended = held.map { placement in
            var placement = placement
            placement.last = DeciderFixture.day("2030-09-02")
            return placement
        }
        let allowed = try NurseryChange.limits(f.ledger(ended), group: group, today: DeciderFixture.day("2030-09-03"))
        #expect(allowed.group.capacity == 1)
    }

    /// "SOS-family placements at most capacity - reserved_local": reserving a place for local
    /// families when SOS children hold every place breaks it.
    @Test func reservingPlacesTheOtherKindHoldsIsRefused() throws {
        let held = [
            f.placement("p1", kind: .sos, first: "2030-09-02", pattern: "mon:am"), f.placement("p2", kind: .sos, first: "2030-09-02", pattern: "mon:am"),
        ]
        var changed = f.group
        changed.reservedLocal = 1
        let (group, limitsChanged, _) = try NurseryChange.group(old: f.group, changed: changed)
        #expect(limitsChanged)
        #expect(schedulerError { try NurseryChange.limits(f.ledger(held), group: group, today: today) }?.code == .failedPrecondition)
        changed = f.group
        changed.reservedSOS = 1
        let (sosReserved, _, _) = try NurseryChange.group(old: f.group, changed: changed)
        #expect(try NurseryChange.limits(f.ledger(held), group: sosReserved, today: today).group.reservedSOS == 1)
    }

    @Test func aGroupKeepsItsIdAndNurseryAndItsNumbersAreChecked() throws {
        var changed = f.group
        changed.id = "other"
        changed.nurseryID = "elsewhere"
        changed.name = "Renamed"
        let (group, limitsChanged, _) = try NurseryChange.group(old: f.group, changed: changed)
        #expect(group.id == "toddlers" && group.nurseryID == "almaty-1" && group.name == "Renamed")
        #expect(!limitsChanged)
        changed.reservedSOS = 3
        #expect(schedulerError { try NurseryChange.group(old: f.group, changed: changed) }?.code == .invalidArgument)
    }

    /// Opening a closed day counts the placements on it again: refused if they overfill it.
    @Test func openingADayThatWouldOverfillAGroupIsRefused() throws {
        let closed = DeciderFixture.day("2030-09-02")
        var old = f.nursery
        old.closures = [closed]
        // Three children on Mondays: one from 2030-09-02, two from 2030-09-09; one place freed from 2030-09-09.
        let spans = [
            f.placement("p1", kind: .sos, first: "2030-09-02", last: "2030-09-08", pattern: "mon:am"),
            f.placement("p2", kind: .sos, first: "2030-09-02", pattern: "mon:am"), f.placement("p3", kind: .local, first: "2030-09-02", pattern: "mon:am"),
        ].map(\.span)
        var changed = old
        changed.closures = []
        changed.id = "other"
        let (nursery, calendarChanged, records) = NurseryChange.nursery(old: old, changed: changed)
        #expect(nursery.id == "almaty-1")
        #expect(calendarChanged)
        #expect(records == ["nursery:almaty-1"])
        let error = schedulerError { try NurseryChange.calendarLedger(group: f.group, nursery: nursery, placements: spans, today: today) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.field == "nursery.closures")
        #expect(error?.message.contains("2030-09-02") == true)
        // Kept closed, or with that day already past, the calendar change goes through.
        #expect(try NurseryChange.calendarLedger(group: f.group, nursery: old, placements: spans, today: today).firstViolation(from: today) == nil)
        _ = try NurseryChange.calendarLedger(group: f.group, nursery: nursery, placements: spans, today: DeciderFixture.day("2030-09-03"))
        var renamed = old
        renamed.name = "New name"
        #expect(!NurseryChange.nursery(old: old, changed: renamed).calendarChanged)
    }

    /// A family's kind decides which reserved places its placements count against.
    @Test func aFamilysKindChangesOnlyWhileItsChildrenHoldNoPlacement() throws {
        var changed = f.sos
        changed.kind = .local
        changed.siteID = "astana"
        let (family, kindChanged, records) = NurseryChange.family(old: f.sos, changed: changed)
        #expect(family.siteID == "almaty")
        #expect(kindChanged)
        #expect(records == ["family:fam_sos"])
        let error = schedulerError { try NurseryChange.checkKind(old: f.sos, new: family, heldPlacements: 2) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.field == "family.kind")
        #expect(schedulerError { try NurseryChange.checkKind(old: f.sos, new: family, heldPlacements: 1) }?.code == .failedPrecondition)
        #expect(schedulerError { try NurseryChange.checkKind(old: f.sos, new: family, heldPlacements: 0) } == nil)
        var sameKind = f.sos
        sameKind.singleParent = true
        #expect(schedulerError { try NurseryChange.checkKind(old: f.sos, new: sameKind, heldPlacements: 2) } == nil)
    }

    @Test func sitesAndChildrenKeepTheirIds() {
        let site = Site(id: "almaty", name: "Almaty", timeZone: "Asia/Almaty")
        var renamed = site
        renamed.id = "x"
        renamed.name = "Almaty village"
        #expect(NurseryChange.site(old: site, changed: renamed) == (Site(id: "almaty", name: "Almaty village", timeZone: "Asia/Almaty"), ["site:almaty"]))
        let child = f.child("chd_a", of: f.sos)
        var moved = child
        moved.familyID = "fam_local"
        moved.id = "y"
        #expect(NurseryChange.child(old: child, changed: moved).0 == child)
    }
}
