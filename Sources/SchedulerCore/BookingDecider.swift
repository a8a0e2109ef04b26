import Foundation

/// Decides a direct booking from what a store loaded inside its transaction (under its locks):
/// the same decision, with the same errors, for every store. The store then writes the
/// placement and changes the group's ledger, or, for a refusal, loads the nursery's other
/// groups and asks `refusal` what to propose instead.
public enum BookingDecider {
    /// What the store loads for a booking.
    public struct Loaded: Sendable {
        public var child: Child
        public var family: Family
        public var group: Group
        public var nursery: Nursery
        /// The IANA zone of the family's site (nil: UTC).
        public var timeZone: String?
        /// The child's active placements that overlap the booking's dates.
        public var held: [Placement]
        /// The nurseries of `held` by id (the booking's own nursery need not be there).
        public var nurseries: [String: Nursery]

        public init(child: Child, family: Family, group: Group, nursery: Nursery, timeZone: String?, held: [Placement], nurseries: [String: Nursery]) {
            self.child = child
            self.family = family
            self.group = group
            self.nursery = nursery
            self.timeZone = timeZone
            self.held = held
            self.nurseries = nurseries
        }
    }

    public enum Outcome: Sendable, Hashable {
        /// Insert this placement (its span joins the group's ledger); `records` go to the audit entry.
        case book(Placement, records: [String])
        /// The group has no room: nothing is written, the store asks `refusal` for the answer.
        case full(BookingRequest)
    }

    /// Decides `booking` against the group's own `ledger`. `placementID` is the id a new
    /// placement gets; `now` is the call's instant (today is taken in the site's zone).
    public static func decide(
        _ booking: BookingInput, _ loaded: Loaded, ledger: CapacityLedger, placementID: String, now: Date
    ) throws(SchedulerError) -> Outcome {
        let family = loaded.family, nursery = loaded.nursery, group = loaded.group
        guard family.siteID == nursery.siteID else {
            throw SchedulerError(
                .failedPrecondition, "the child's family belongs to site \(family.siteID), the group's nursery to site \(nursery.siteID)",
                field: "group_id")
        }
        let today = CivilDate.today(timeZone: loaded.timeZone, now: now)
        let correction = try booking.pastDays.check(booking.first, today: today, field: "first_day", what: "booking from that day")
        try checkNoSharedSession(held: loaded.held, booking: booking, nursery: nursery, nurseries: loaded.nurseries)
        let request = BookingRequest(
            child: loaded.child, family: family, groupID: group.id, first: booking.first, last: booking.last, pattern: booking.pattern)
        guard case .fits = try BookingPlanner.decide(request, nursery: nursery, groups: [group], ledgers: [group.id: ledger]) else {
            return .full(request)
        }
        let placement = Placement(
            id: placementID, childID: booking.childID, groupID: booking.groupID, kind: family.kind, first: booking.first, last: booking.last,
            pattern: booking.pattern, nurseryID: nursery.id)
        return .book(placement, records: records(placement) + correction)
    }

    /// The refusal of a booking that does not fit its group: its first full sessions, and the
    /// alternatives the nursery's groups (`groups`, each with its ledger) offer. Nil if the
    /// booking fits after all.
    public static func refusal(
        _ request: BookingRequest, nursery: Nursery, groups: [Group], ledgers: [String: CapacityLedger]
    ) throws(SchedulerError) -> BookingRefused? {
        guard case .full(let conflicts, let alternatives) = try BookingPlanner.decide(request, nursery: nursery, groups: groups, ledgers: ledgers) else {
            return nil
        }
        let tally = ledgers[request.groupID]?.conflictTally(for: request.span)
        return BookingRefused(groupID: request.groupID, conflicts: conflicts, alternatives: alternatives, tally: tally)
    }

    /// The audit records of a new placement.
    public static func records(_ placement: Placement) -> [String] {
        ["placement:\(placement.id)", "child:\(placement.childID)", "group:\(placement.groupID)"]
    }

    /// A child holds one place at a time: no two of its placements take the same session of
    /// the same day. Two placements whose patterns share a weekday may both stand when they
    /// never meet on a day both nurseries are open (dates that only touch across closures, say).
    static func checkNoSharedSession(held: [Placement], booking: BookingInput, nursery: Nursery, nurseries: [String: Nursery]) throws(SchedulerError) {
        let wanted = PlacementSpan(kind: .local, first: booking.first, last: booking.last, pattern: booking.pattern)
        for other in held {
            let otherNursery = nurseries[other.nurseryID] ?? nursery
            guard let meeting = wanted.firstSharedSession(at: nursery, with: other.span, at: otherNursery) else { continue }
            throw SchedulerError(
                .failedPrecondition,
                "the child already holds placement \(other.id) (\(other.pattern), from \(other.first)\(other.last.map { " to \($0)" } ?? "")), "
                    + "which takes the \(meeting.session == .morning ? "morning" : "afternoon") of \(meeting.date) too; end it first",
                field: "child_id")
        }
    }
}

extension CivilDate {
    /// Today in the zone `timeZone` at `now` (UTC if the zone is unknown or nil).
    public static func today(timeZone: String?, now: Date) -> CivilDate {
        CivilDate(instant: now, timeZone: timeZone ?? "UTC") ?? CivilDate(instant: now, timeZone: "UTC") ?? CivilDate(dayNumber: 0)
    }
}
