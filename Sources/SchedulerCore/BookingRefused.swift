/// A booking that does not fit: the first full sessions, how many sessions in all have no
/// room, and what would fit instead.
public struct BookingRefused: Error, Sendable, Hashable, CustomStringConvertible {
    public var groupID: String
    /// The first full session of each slot of the pattern, earliest first.
    public var conflicts: [Conflict]
    public var alternatives: [Alternative]
    /// Every session without room, not only the listed ones.
    public var tally: ConflictTally

    public init(groupID: String, conflicts: [Conflict], alternatives: [Alternative], tally: ConflictTally? = nil) {
        self.groupID = groupID
        self.conflicts = conflicts
        self.alternatives = alternatives
        self.tally = tally ?? ConflictTally(sessions: conflicts.count, endlessFrom: nil)
    }

    public var description: String {
        guard let first = conflicts.first else { return "group \(groupID) has no room for this placement" }
        let what = first.reason == .full ? "is full" : "has only places reserved for the other kind of family"
        var text = "group \(groupID) \(what) on \(first.date) (\(first.session == .morning ? "morning" : "afternoon"))"
        // The first conflict is one of the counted sessions unless it already lies in the endless part.
        let counted = tally.endlessFrom.map { first.date < $0 } ?? true
        let more = max(0, tally.sessions - (counted ? 1 : 0))
        if let endless = tally.endlessFrom {
            if more > 0 { text += " and on \(more) more \(more == 1 ? "session" : "sessions") before \(endless)" }
            text += ", and from \(endless) on it has no room any week (placements with no last day hold the places)"
        } else if more > 0 {
            text += " and on \(more) more \(more == 1 ? "session" : "sessions") (\(more + 1) in all)"
        }
        return text
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
