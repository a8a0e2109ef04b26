/// Decides changes to sites, nurseries, groups, families and children from what a store loaded
/// under its locks. An update takes the stored record and the record as the caller's change left
/// it; the store writes what comes back (and, for limits and calendars, the ledgers) or throws
/// what these throw.
public enum NurseryChange {
    /// A site after a change (its id kept), and the audit records.
    public static func site(old: Site, changed: Site) -> (Site, records: [String]) {
        var site = changed
        site.id = old.id
        return (site, ["site:\(old.id)"])
    }

    /// A nursery after a change (its id and site kept), whether its calendar (opening weekdays,
    /// closures) changed, and the audit records. A changed calendar changes every ledger of the
    /// nursery: the store rebuilds each group's with `calendarLedger`.
    public static func nursery(old: Nursery, changed: Nursery) -> (Nursery, calendarChanged: Bool, records: [String]) {
        var nursery = changed
        nursery.id = old.id
        nursery.siteID = old.siteID
        let calendarChanged = nursery.openWeekdays != old.openWeekdays || nursery.closures != old.closures
        return (nursery, calendarChanged, ["nursery:\(old.id)"])
    }

    /// A group's ledger under a nursery's new calendar, built from the group's active
    /// placements; refused if a day the calendar opens would overfill the group (from `today` on).
    public static func calendarLedger(group: Group, nursery: Nursery, placements: [PlacementSpan], today: CivilDate) throws(SchedulerError)
        -> CapacityLedger
    {
        var ledger = CapacityLedger(group: group, nursery: nursery)
        for span in placements { ledger.add(span) }
        if let violation = ledger.firstViolation(from: today) {
            throw SchedulerError(
                .failedPrecondition,
                "opening \(violation.date) would overfill group \(group.id) (\(violation.taken) children for \(violation.capacity) places)",
                field: "nursery.closures")
        }
        return ledger
    }

    /// A group after a change (its id and nursery kept, its numbers checked), whether its limits
    /// (capacity, reserves) changed, and the audit records. Changed limits are checked against
    /// the group's ledger with `limits`.
    public static func group(old: Group, changed: Group) throws(SchedulerError) -> (Group, limitsChanged: Bool, records: [String]) {
        var group = changed
        group.id = old.id
        group.nurseryID = old.nurseryID
        try group.validate()
        let limitsChanged = group.capacity != old.capacity || group.reservedSOS != old.reservedSOS || group.reservedLocal != old.reservedLocal
        return (group, limitsChanged, ["group:\(old.id)"])
    }

    /// The group's ledger under its new limits; refused if the placements it holds from `today`
    /// on break them (the capacity invariant: at most `capacity` in all, at most
    /// `capacity - reserved_local` SOS and `capacity - reserved_sos` local placements a session).
    public static func limits(_ ledger: CapacityLedger, group: Group, today: CivilDate) throws(SchedulerError) -> CapacityLedger {
        var ledger = ledger
        ledger.update(group: group)
        if let violation = ledger.firstViolation(from: today) {
            throw SchedulerError(
                .failedPrecondition,
                "on \(violation.date) the group already holds \(violation.taken) children; "
                    + "end or move placements before lowering its capacity or changing its reserves",
                field: "group.capacity")
        }
        return ledger
    }

    /// A family after a change (its id and site kept), whether its kind changed, and the audit
    /// records. A changed kind is checked with `checkKind` against the placements its children hold.
    public static func family(old: Family, changed: Family) -> (Family, kindChanged: Bool, records: [String]) {
        var family = changed
        family.id = old.id
        family.siteID = old.siteID
        return (family, family.kind != old.kind, ["family:\(old.id)"])
    }

    /// A family's kind decides which reserved places its children's placements count against, so
    /// it may change only while its children hold no active placement (`heldPlacements`).
    public static func checkKind(old: Family, new: Family, heldPlacements held: Int) throws(SchedulerError) {
        guard new.kind == old.kind || held == 0 else {
            throw SchedulerError(
                .failedPrecondition,
                "the family's children hold \(held) placements, which count as \(old.kind.rawValue); end them before changing the kind",
                field: "family.kind")
        }
    }

    /// A child after a change (its id and family kept), and the audit records.
    public static func child(old: Child, changed: Child) -> (Child, records: [String]) {
        var child = changed
        child.id = old.id
        child.familyID = old.familyID
        return (child, ["child:\(old.id)"])
    }
}
