/// A direct booking a manager asks for.
public struct BookingRequest: Sendable, Hashable {
    public var child: Child
    public var family: Family
    public var groupID: String
    public var first: CivilDate
    public var last: CivilDate?
    public var pattern: WeeklyPattern

    public init(child: Child, family: Family, groupID: String, first: CivilDate, last: CivilDate?, pattern: WeeklyPattern) {
        self.child = child
        self.family = family
        self.groupID = groupID
        self.first = first
        self.last = last
        self.pattern = pattern
    }

    public var span: PlacementSpan { PlacementSpan(kind: family.kind, first: first, last: last, pattern: pattern) }
}

/// A booking that would fit, offered when the one asked for does not.
public struct Alternative: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// Same group and pattern, starting later.
        case laterStart
        /// Another group of the nursery, from the asked date.
        case otherGroup
        /// The sessions of the asked pattern that are free, from the asked date.
        case otherPattern
    }

    public var kind: Kind
    public var groupID: String
    public var first: CivilDate
    public var last: CivilDate?
    public var pattern: WeeklyPattern
}

public enum BookingDecision: Sendable, Hashable {
    case fits
    case full(conflicts: [Conflict], alternatives: [Alternative])
}

/// Decides direct bookings against the capacity ledgers of a nursery's groups.
public enum BookingPlanner {
    /// Checks the request's own rules (dates, pattern, age); errors name the field.
    public static func validate(_ request: BookingRequest, group: Group, nursery: Nursery) throws(SchedulerError) {
        if let last = request.last, last < request.first {
            throw SchedulerError(.invalidArgument, "last_day \(last) is before first_day \(request.first)", field: "last_day")
        }
        guard !request.pattern.isEmpty else {
            throw SchedulerError(.invalidArgument, "pattern covers no session", field: "pattern")
        }
        let closedDays = request.pattern.weekdays.subtracting(nursery.openWeekdays)
        guard closedDays.isEmpty else {
            let days = closedDays.sorted().map(\.shortName).joined(separator: ", ")
            let open = nursery.openWeekdays.sorted().map(\.shortName).joined(separator: ", ")
            throw SchedulerError(
                .invalidArgument, "pattern includes \(days), but the nursery opens on \(open) only", field: "pattern")
        }
        guard request.child.birthDate <= request.first else {
            throw SchedulerError(
                .failedPrecondition, "the child's birth date \(request.child.birthDate) is after first_day \(request.first)",
                field: "first_day")
        }
        let age = request.child.birthDate.months(until: request.first)
        guard group.accepts(ageMonths: age) else {
            throw SchedulerError(
                .failedPrecondition,
                "the child is \(age) months old on \(request.first); group \(group.id) takes children of "
                    + "\(group.minAgeMonths) to \(group.maxAgeMonths - 1) months",
                field: "group_id")
        }
        guard coversOpenSession(request.span, nursery: nursery) else {
            throw SchedulerError(.invalidArgument, "the placement covers no open session (closures?)", field: "last_day")
        }
    }

    /// Whether a span covers at least one session on an open day.
    static func coversOpenSession(_ span: PlacementSpan, nursery: Nursery) -> Bool {
        let end = span.last ?? span.first.adding(days: 400)
        var day = span.first
        // Closures are a few dozen a year: a bounded walk finds an open covered day quickly.
        while day <= end, day.dayNumber - span.first.dayNumber <= 800 {
            if nursery.isOpen(on: day), span.pattern.weekdays.contains(day.weekday) { return true }
            day = day.adding(days: 1)
        }
        return false
    }

    /// Decides a booking. `ledgers` holds a ledger for every group in `groups` (the nursery's).
    public static func decide(
        _ request: BookingRequest, nursery: Nursery, groups: [Group], ledgers: [String: CapacityLedger],
        maxAlternatives: Int = 5
    ) throws(SchedulerError) -> BookingDecision {
        guard let group = groups.first(where: { $0.id == request.groupID }), let ledger = ledgers[request.groupID] else {
            throw SchedulerError(.notFound, "no group \(request.groupID) in nursery \(nursery.id)", field: "group_id")
        }
        try validate(request, group: group, nursery: nursery)
        let conflicts = ledger.conflicts(for: request.span)
        if conflicts.isEmpty { return .fits }

        var alternatives: [Alternative] = []
        // 1. The same pattern in the same group, from the day after the last full session.
        if let lastFull = ledger.lastConflictDate(for: request.span),
            let start = nextCoveredOpenDay(from: lastFull.adding(days: 1), request.pattern, nursery: nursery, until: request.last)
        {
            var later = request
            later.first = start
            if group.accepts(ageMonths: request.child.birthDate.months(until: start)), ledger.fits(later.span) {
                alternatives.append(Alternative(kind: .laterStart, groupID: group.id, first: start, last: request.last, pattern: request.pattern))
            }
        }
        // 2. The free sessions of the asked pattern, in the same group.
        if let reduced = freeSubpattern(of: request.span, in: ledger) {
            alternatives.append(Alternative(kind: .otherPattern, groupID: group.id, first: request.first, last: request.last, pattern: reduced))
        }
        // 3. Other groups of the nursery that take the child at that age: the whole pattern, else its free part.
        let age = request.child.birthDate.months(until: request.first)
        for other in groups.sorted(by: { $0.id < $1.id }) where other.id != group.id && other.accepts(ageMonths: age) {
            guard let otherLedger = ledgers[other.id] else { continue }
            if otherLedger.fits(request.span) {
                alternatives.append(Alternative(kind: .otherGroup, groupID: other.id, first: request.first, last: request.last, pattern: request.pattern))
            } else if let reduced = freeSubpattern(of: request.span, in: otherLedger) {
                alternatives.append(Alternative(kind: .otherGroup, groupID: other.id, first: request.first, last: request.last, pattern: reduced))
            }
        }
        return .full(conflicts: conflicts, alternatives: Array(alternatives.prefix(maxAlternatives)))
    }

    /// The slots of the span's pattern that fit for the whole range, if some but not all do.
    static func freeSubpattern(of span: PlacementSpan, in ledger: CapacityLedger) -> WeeklyPattern? {
        let free = span.pattern.slots.filter { slot in
            var single = span
            single.pattern = WeeklyPattern([slot])
            return ledger.fits(single)
        }
        guard !free.isEmpty, free.count < span.pattern.slots.count else { return nil }
        return WeeklyPattern(free)
    }

    /// The first open day on or after `start` (and not after `until`) that the pattern covers.
    static func nextCoveredOpenDay(from start: CivilDate, _ pattern: WeeklyPattern, nursery: Nursery, until: CivilDate?) -> CivilDate? {
        var day = start
        for _ in 0..<800 {
            if let until, day > until { return nil }
            if nursery.isOpen(on: day), pattern.weekdays.contains(day.weekday) { return day }
            day = day.adding(days: 1)
        }
        return nil
    }
}
