import Foundation
import SchedulerCore

/// What every store stores the same way and decides the same way, whatever its SQL: the
/// columns' stored forms and the checks a change makes inside its transaction, with their
/// messages. Each store reads the records, calls these, and writes the outcome.
enum StoreRules {
    // MARK: Stored forms

    static func weekdayBits(_ days: Set<Weekday>) -> Int { days.reduce(0) { $0 | (1 << ($1.rawValue - 1)) } }

    static func closuresText(_ days: Set<CivilDate>) -> String { days.map(\.dayNumber).sorted().map(String.init).joined(separator: ",") }

    static func nursery(id: String, siteID: String, name: String, weekdayBits: Int, closures: String, morning: String, afternoon: String) throws -> Nursery {
        let bits = try stored(weekdayBits, "nursery.open_weekdays")
        let days = try closures.split(separator: ",").map { text in
            guard let day = Int(text), storedDays.contains(day) else { throw unreadable("nursery.closures", "not a list of day numbers") }
            return CivilDate(dayNumber: day)
        }
        return Nursery(
            id: id, siteID: siteID, name: name,
            openWeekdays: Set(Weekday.allCases.filter { bits & (1 << ($0.rawValue - 1)) != 0 }),
            closures: Set(days),
            morning: SessionTimes(parsing: morning) ?? .morning,
            afternoon: SessionTimes(parsing: afternoon) ?? .afternoon)
    }

    static func placement(
        id: String, childID: String, groupID: String, nurseryID: String, kind: String, firstDay: Int, lastDay: Int?, patternBits: Int, state: String
    ) throws -> Placement {
        Placement(
            id: id, childID: childID, groupID: groupID, kind: FamilyKind(rawValue: kind) ?? .local,
            first: try storedDay(firstDay, "placement.first_day"), last: try lastDay.map { try storedDay($0, "placement.last_day") },
            pattern: try storedPattern(patternBits, "placement.pattern"),
            state: Placement.State(rawValue: state) ?? .active, nurseryID: nurseryID)
    }

    static func group(
        id: String, nurseryID: String, name: String, minAgeMonths: Int, maxAgeMonths: Int, capacity: Int, reservedSOS: Int, reservedLocal: Int
    ) throws -> Group {
        Group(
            id: id, nurseryID: nurseryID, name: name, minAgeMonths: try stored(minAgeMonths, "nursery_group.min_age_months"),
            maxAgeMonths: try stored(maxAgeMonths, "nursery_group.max_age_months"), capacity: try stored(capacity, "nursery_group.capacity"),
            reservedSOS: try stored(reservedSOS, "nursery_group.reserved_sos"), reservedLocal: try stored(reservedLocal, "nursery_group.reserved_local"))
    }

    static func offer(
        id: String, groupID: String, nurseryID: String, patternBits: Int, places: Int, reservedSOS: Int, reservedLocal: Int
    ) throws -> IntakeOffer {
        IntakeOffer(
            id: id, groupID: groupID, nurseryID: nurseryID, pattern: try storedPattern(patternBits, "intake_offer.pattern"),
            places: try stored(places, "intake_offer.places"), reservedSOS: try stored(reservedSOS, "intake_offer.reserved_sos"),
            reservedLocal: try stored(reservedLocal, "intake_offer.reserved_local"))
    }

    static func token(
        id: String, role roleText: String, scope scopeText: String?, name: String, createdAtMS: Int64, createdBy: String?, revokedAtMS: Int64?
    ) throws -> AccessToken {
        guard let role = Role(rawValue: roleText) else { throw unreadable("token.role", "not a role") }
        let scope: Scope?
        do {
            scope = try scopeText.map { text throws(SchedulerError) in try Scope(parsing: text) }
        } catch {
            throw unreadable("token.scope", "not kind:id")
        }
        return AccessToken(
            id: id, role: role, scope: scope, name: name, createdAt: Date(millisecondsSince1970: createdAtMS),
            createdBy: createdBy, revokedAt: revokedAtMS.map(Date.init(millisecondsSince1970:)))
    }

    static func auditRecords(_ text: String) -> [String] { text.isEmpty ? [] : text.components(separatedBy: ",") }

    // MARK: Checks

    /// The table of the records a scope names, where the store keeps them: sites and nurseries
    /// (counsellors are not stored yet, so a `counsellor:` scope is not checked).
    static func scopeTable(_ scope: Scope) -> String? {
        switch scope.kind {
        case .site: "site"
        case .nursery: "nursery"
        case .counsellor: nil
        }
    }

    /// A new token's scope must name a site or nursery that exists.
    static func scopeTargetMissing(_ scope: Scope) -> SchedulerError {
        SchedulerError(
            .invalidArgument, "scope names \(scope.kind.rawValue) \(scope.id), which does not exist; create it first", field: "scope")
    }

    /// A site or nursery may not be created under an id that an active token's scope already
    /// names (a token made before this check existed, or for a record deleted by hand): the new
    /// records would fall into that old token's rights by their name alone.
    static func scopeNamedByToken(_ scope: Scope, tokenID: String, field: String) -> SchedulerError {
        SchedulerError(
            .failedPrecondition,
            "token \(tokenID) names \(scope) in its scope but was not made for this \(scope.kind.rawValue); "
                + "revoke it (sosched token revoke \(tokenID)) before creating \(scope.kind.rawValue) \(scope.id)",
            field: field)
    }

    static func require<T>(_ value: T?, _ what: String, _ id: String, field: String) throws -> T {
        guard let value else { throw SchedulerError(.notFound, "no \(what) with id \(id)", field: field) }
        return value
    }

    /// A stored idempotency key: the stored reply if the request is the same, else ALREADY_EXISTS.
    static func replay(storedMethod: String, storedDigest: [UInt8], reply: [UInt8], context: MutationContext) throws -> [UInt8] {
        guard storedMethod == context.method, storedDigest == context.requestDigest else {
            throw SchedulerError(
                .alreadyExists, "the idempotency key was already used for a different request", field: "idempotency_key")
        }
        return reply
    }

    static func cancelledBeforeItsTurn() -> SchedulerError {
        SchedulerError(.cancelled, "the call ended before its change was made")
    }

    /// Today in the site's zone (UTC if the zone is unknown).
    static func today(timeZone: String?, now: Date) -> CivilDate {
        CivilDate(instant: now, timeZone: timeZone ?? "UTC") ?? CivilDate(instant: now, timeZone: "UTC") ?? CivilDate(dayNumber: 0)
    }

    static func checkSameSite(family: Family, nursery: Nursery) throws {
        guard family.siteID == nursery.siteID else {
            throw SchedulerError(
                .failedPrecondition, "the child's family belongs to site \(family.siteID), the group's nursery to site \(nursery.siteID)",
                field: "group_id")
        }
    }

    /// A child holds one place at a time: no two of its placements take the same session of
    /// the same day. `held` are the child's active placements that overlap the booking's dates;
    /// `nurseries` holds the booking's nursery and those of `held`. Two placements whose patterns
    /// share a weekday may both stand when they never meet on a day both nurseries are open
    /// (dates that only touch across closures, say).
    static func checkNoSharedSession(held: [Placement], booking: BookingInput, nursery: Nursery, nurseries: [String: Nursery]) throws {
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

    /// A change's date against today in the site's zone: a day before today is refused unless
    /// the caller asked for a correction. Returns the audit records that mark a correction.
    static func checkNotPast(_ day: CivilDate, today: CivilDate, _ policy: PastDays, field: String, what: String) throws -> [String] {
        guard day < today else { return [] }
        switch policy {
        case .allowed:
            return []
        case .refused:
            throw SchedulerError(
                .failedPrecondition,
                "\(field) \(day) is before today (\(today) at the site): \(what) would rewrite what already happened; "
                    + "set correction to correct the records on purpose",
                field: field)
        case .correction:
            return [PastDays.auditRecord(field)]
        }
    }

    /// Whether a booking fits its group's own ledger (the decision; the other groups are only
    /// needed to explain a refusal).
    static func fits(_ request: BookingRequest, group: Group, nursery: Nursery, ledger: CapacityLedger) throws -> Bool {
        guard case .full = try BookingPlanner.decide(request, nursery: nursery, groups: [group], ledgers: [group.id: ledger]) else { return true }
        return false
    }

    /// The refusal of a booking that does not fit its group: its conflicts, and the alternatives
    /// the nursery's groups (`all`) offer.
    static func refusal(_ request: BookingRequest, group: Group, nursery: Nursery, all: (groups: [Group], ledgers: [String: CapacityLedger])) throws
        -> BookingRefused
    {
        guard case .full(let conflicts, let alternatives) = try BookingPlanner.decide(request, nursery: nursery, groups: all.groups, ledgers: all.ledgers)
        else {
            throw SchedulerStoreError.internal("group \(group.id) refused a booking that fits it")
        }
        let tally = all.ledgers[group.id]?.conflictTally(for: request.span)
        return BookingRefused(groupID: group.id, conflicts: conflicts, alternatives: alternatives, tally: tally)
    }

    static func newPlacement(_ booking: BookingInput, family: Family, nurseryID: String) -> Placement {
        Placement(
            id: RecordID.make("plc"), childID: booking.childID, groupID: booking.groupID, kind: family.kind, first: booking.first,
            last: booking.last, pattern: booking.pattern, nurseryID: nurseryID)
    }

    static func bookingRecords(_ placement: Placement) -> [String] {
        ["placement:\(placement.id)", "child:\(placement.childID)", "group:\(placement.groupID)"]
    }

    /// The placement ended from `from` (its last day the day before), if that is allowed.
    static func ended(_ old: Placement, from: CivilDate) throws -> Placement {
        guard old.state == .active else {
            throw SchedulerError(.failedPrecondition, "placement \(old.id) is cancelled", field: "id")
        }
        guard from > old.first else {
            throw SchedulerError(
                .failedPrecondition, "from_day \(from) is not after the first day \(old.first); cancel the placement instead",
                field: "from_day")
        }
        if let last = old.last, from > last {
            throw SchedulerError(.failedPrecondition, "the placement already ends on \(last)", field: "from_day")
        }
        var new = old
        new.last = from.adding(days: -1)
        return new
    }

    static func checkActive(_ old: Placement) throws {
        guard old.state == .active else {
            throw SchedulerError(.failedPrecondition, "placement \(old.id) is already cancelled", field: "id")
        }
    }

    /// The placement cancelled, if its first day is still ahead (`today` in the site's zone), or
    /// on purpose as a correction (a started placement that should never have been booked);
    /// also the audit records that mark a correction.
    static func cancelled(_ old: Placement, today: CivilDate, _ policy: PastDays = .allowed) throws -> (Placement, records: [String]) {
        try checkActive(old)
        var records: [String] = []
        if old.first <= today {
            guard policy == .correction else {
                throw SchedulerError(
                    .failedPrecondition,
                    "the placement started on \(old.first); end it from a day instead of cancelling it "
                        + "(or set correction if it should never have been booked)",
                    field: "id")
            }
            records = [PastDays.auditRecord("id")]
        }
        var new = old
        new.state = .cancelled
        return (new, records)
    }

    /// Changes a placement's share of a ledger from `old` to `new` (and back, for the inverse).
    static func replacement(old: Placement, new: Placement) -> (change: (inout CapacityLedger) -> Void, inverse: (inout CapacityLedger) -> Void) {
        let before = old.span, after = new.state == .active ? new.span : nil
        return (
            { ledger in
                ledger.remove(before)
                if let after { ledger.add(after) }
            },
            { ledger in
                if let after { ledger.remove(after) }
                ledger.add(before)
            }
        )
    }

    static func checkCalendar(_ ledger: CapacityLedger, group: Group, today: CivilDate) throws {
        if let violation = ledger.firstViolation(from: today) {
            throw SchedulerError(
                .failedPrecondition,
                "opening \(violation.date) would overfill group \(group.id) (\(violation.taken) children for \(violation.capacity) places)",
                field: "nursery.closures")
        }
    }

    static func checkLimits(_ ledger: CapacityLedger, today: CivilDate) throws {
        if let violation = ledger.firstViolation(from: today) {
            throw SchedulerError(
                .failedPrecondition,
                "on \(violation.date) the group already holds \(violation.taken) children; "
                    + "end or move placements before lowering its capacity or changing its reserves",
                field: "group.capacity")
        }
    }

    static func limitsChanged(_ old: Group, _ new: Group) -> Bool {
        new.capacity != old.capacity || new.reservedSOS != old.reservedSOS || new.reservedLocal != old.reservedLocal
    }

    static func checkKindChange(old: Family, new: Family, heldPlacements held: Int) throws {
        guard new.kind == old.kind || held == 0 else {
            throw SchedulerError(
                .failedPrecondition,
                "the family's children hold \(held) placements, which count as \(old.kind.rawValue); end them before changing the kind",
                field: "family.kind")
        }
    }

    /// Occupancy of every group and session on each open day of `from...to`.
    static func occupancy(nursery: Nursery, groups: [Group], ledgers: [String: CapacityLedger], from: CivilDate, to: CivilDate) -> [OccupancyDay] {
        var days: [OccupancyDay] = []
        var day = from
        while day <= to {
            if nursery.isOpen(on: day) {
                var sessions: [GroupSessionOccupancy] = []
                for group in groups {
                    guard let ledger = ledgers[group.id] else { continue }
                    for session in Session.allCases {
                        sessions.append(GroupSessionOccupancy(groupID: group.id, session: session, occupancy: ledger.occupancy(on: day, session)))
                    }
                }
                days.append(OccupancyDay(date: day, sessions: sessions))
            }
            day = day.adding(days: 1)
        }
        return days
    }

    /// The placements cursor "firstDay:id" (placements are listed by first day, then id).
    static func placementCursor(_ after: String?) throws -> (day: Int, id: String) {
        guard let after else { return (Int(Int32.min), "") }
        let parts = after.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let day = Int(parts[0]) else {
            throw SchedulerError(.invalidArgument, "page_token is not one this server gave out", field: "page_token")
        }
        return (day, String(parts[1]))
    }

    static func placementCursor(of placement: Placement) -> String { "\(placement.first.dayNumber):\(placement.id)" }
}
