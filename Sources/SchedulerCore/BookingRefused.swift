/// A booking that does not fit: the first full sessions and what would fit instead.
public struct BookingRefused: Error, Sendable, Hashable, CustomStringConvertible {
    public var groupID: String
    public var conflicts: [Conflict]
    public var alternatives: [Alternative]

    public init(groupID: String, conflicts: [Conflict], alternatives: [Alternative]) {
        self.groupID = groupID
        self.conflicts = conflicts
        self.alternatives = alternatives
    }

    public var description: String {
        guard let first = conflicts.first else { return "group \(groupID) has no room for this placement" }
        let what = first.reason == .full ? "is full" : "has only places reserved for the other kind of family"
        return "group \(groupID) \(what) on \(first.date) (\(first.session == .morning ? "morning" : "afternoon"))"
            + (conflicts.count > 1 ? " and \(conflicts.count - 1) more sessions" : "")
    }
}

/// What an occupancy query returns for one open day.
public struct OccupancyDay: Sendable, Hashable {
    public var date: CivilDate
    public var sessions: [GroupSessionOccupancy]

    public init(date: CivilDate, sessions: [GroupSessionOccupancy]) {
        self.date = date
        self.sessions = sessions
    }
}

public struct GroupSessionOccupancy: Sendable, Hashable {
    public var groupID: String
    public var session: Session
    public var occupancy: SessionOccupancy

    public init(groupID: String, session: Session, occupancy: SessionOccupancy) {
        self.groupID = groupID
        self.session = session
        self.occupancy = occupancy
    }
}

extension CapacityLedger {
    /// The first session on or after `date` where the placements already held break the rules
    /// (after a capacity cut or a reopened day, say); nil when there is none.
    public func firstViolation(from date: CivilDate) -> Conflict? {
        var earliest: Conflict?
        let span = PlacementSpan(kind: .sos, first: date, last: nil, pattern: WeeklyPattern(Slot.all.filter { openWeekdays.contains($0.weekday) }))
        for slot in span.pattern.slots {
            guard let weeks = Self.weeks(of: span, on: slot.weekday) else { continue }
            for (kind, limit) in [(nil, group.capacity), (FamilyKind.sos, group.limit(for: .sos)), (.local, group.limit(for: .local))] as [(FamilyKind?, Int)] {
                guard let week = firstWeek(slot, kind, atLeast: limit + 1, in: weeks) else { continue }
                let day = Self.date(week: week, weekday: slot.weekday)
                if earliest.map({ (day, slot.session) < ($0.date, $0.session) }) ?? true {
                    earliest = Conflict(
                        date: day, session: slot.session, reason: kind == nil ? .full : .reservedForOthers,
                        taken: occupancy(on: day, slot.session).taken, capacity: group.capacity)
                }
            }
        }
        return earliest
    }
}

