import Foundation
import SchedulerCore

/// What every store stores the same way, whatever its SQL: the columns' stored forms, the
/// idempotency replay, scope checks and cursors. The domain's decisions about a change live in
/// `SchedulerCore` (`BookingDecider`, `PlacementChange`, `NurseryChange`, `IntakeDecider`): each
/// store loads the records under its locks, asks the decider, and writes the outcome.
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
        try value.required(what, id, field: field)
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

    /// The refusal of a booking `BookingDecider` found full, with the alternatives the
    /// nursery's groups (`groups`, each with its ledger in `ledgers`) offer.
    static func refusal(_ request: BookingRequest, nursery: Nursery, groups: [Group], ledgers: [String: CapacityLedger]) throws -> BookingRefused {
        guard let refused = try BookingDecider.refusal(request, nursery: nursery, groups: groups, ledgers: ledgers) else {
            throw SchedulerStoreError.internal("group \(request.groupID) refused a booking that fits it")
        }
        return refused
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
