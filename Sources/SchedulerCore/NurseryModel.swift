/// A site of the organisation (Almaty, Astana), with its IANA time zone.
public struct Site: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// e.g. `Asia/Almaty`; nursery days are civil dates in this zone.
    public var timeZone: String

    public init(id: String, name: String, timeZone: String) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
    }
}

/// Start and end of a session, in minutes after midnight (site time).
public struct SessionTimes: Sendable, Hashable, Codable, CustomStringConvertible {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    public static let morning = SessionTimes(start: 8 * 60, end: 13 * 60)
    public static let afternoon = SessionTimes(start: 13 * 60, end: 18 * 60)

    /// Parses `08:00-13:00`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let start = Self.minutes(parts[0]), let end = Self.minutes(parts[1]), start < end else {
            return nil
        }
        self.init(start: start, end: end)
    }

    private static func minutes(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 24 * 60
        else { return nil }
        return h * 60 + m
    }

    public var description: String {
        "\(String(format2: start / 60)):\(String(format2: start % 60))-\(String(format2: end / 60)):\(String(format2: end % 60))"
    }
}

/// A nursery: when it is open. A day is open when its weekday is an opening weekday and it is
/// not a closure date.
public struct Nursery: Sendable, Hashable {
    public var id: String
    public var siteID: String
    public var name: String
    public var openWeekdays: Set<Weekday>
    public var closures: Set<CivilDate>
    public var morning: SessionTimes
    public var afternoon: SessionTimes

    public init(
        id: String, siteID: String, name: String, openWeekdays: Set<Weekday> = Set(Weekday.allCases.prefix(5)),
        closures: Set<CivilDate> = [], morning: SessionTimes = .morning, afternoon: SessionTimes = .afternoon
    ) {
        self.id = id
        self.siteID = siteID
        self.name = name
        self.openWeekdays = openWeekdays
        self.closures = closures
        self.morning = morning
        self.afternoon = afternoon
    }

    public func isOpen(on date: CivilDate) -> Bool {
        openWeekdays.contains(date.weekday) && !closures.contains(date)
    }

    /// The pattern of every session on every opening weekday.
    public var openPattern: WeeklyPattern {
        WeeklyPattern(Slot.all.filter { openWeekdays.contains($0.weekday) })
    }
}

/// An age group of a nursery and its capacity per session.
public struct Group: Sendable, Hashable {
    public var id: String
    public var nurseryID: String
    public var name: String
    /// Children whose age in whole months on a placement's first day is in `minAgeMonths..<maxAgeMonths`.
    public var minAgeMonths: Int
    public var maxAgeMonths: Int
    public var capacity: Int
    /// Places only children of SOS families may take.
    public var reservedSOS: Int
    /// Places only children of local families may take.
    public var reservedLocal: Int

    public init(
        id: String, nurseryID: String, name: String, minAgeMonths: Int, maxAgeMonths: Int, capacity: Int,
        reservedSOS: Int = 0, reservedLocal: Int = 0
    ) {
        self.id = id
        self.nurseryID = nurseryID
        self.name = name
        self.minAgeMonths = minAgeMonths
        self.maxAgeMonths = maxAgeMonths
        self.capacity = capacity
        self.reservedSOS = reservedSOS
        self.reservedLocal = reservedLocal
    }

    /// The most placements of `kind` a session may hold.
    public func limit(for kind: FamilyKind) -> Int {
        kind == .sos ? capacity - reservedLocal : capacity - reservedSOS
    }

    public func accepts(ageMonths: Int) -> Bool { ageMonths >= minAgeMonths && ageMonths < maxAgeMonths }

    /// Checks the group's own numbers; errors name the field.
    public func validate() throws(SchedulerError) {
        guard minAgeMonths >= 0, maxAgeMonths > minAgeMonths, maxAgeMonths <= 240 else {
            throw SchedulerError(.invalidArgument, "age band must satisfy 0 <= min_age_months < max_age_months <= 240", field: "max_age_months")
        }
        guard capacity >= 0, capacity <= 1000 else {
            throw SchedulerError(.invalidArgument, "capacity must be 0-1000", field: "capacity")
        }
        guard reservedSOS >= 0, reservedLocal >= 0, reservedSOS + reservedLocal <= capacity else {
            throw SchedulerError(.invalidArgument, "reserved_sos + reserved_local must not exceed capacity", field: "reserved_sos")
        }
    }
}

public enum FamilyKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A family of the village, with an SOS mother.
    case sos
    /// A family from the neighbourhood.
    case local
}

/// A family: only what drives priority, and a reference to contact details kept elsewhere.
public struct Family: Sendable, Hashable {
    public var id: String
    public var siteID: String
    public var kind: FamilyKind
    public var singleParent: Bool
    public var parentsWorking: Bool
    public var contactRef: String

    public init(id: String, siteID: String, kind: FamilyKind, singleParent: Bool = false, parentsWorking: Bool = false, contactRef: String = "") {
        self.id = id
        self.siteID = siteID
        self.kind = kind
        self.singleParent = singleParent
        self.parentsWorking = parentsWorking
        self.contactRef = contactRef
    }
}

public struct Child: Sendable, Hashable {
    public var id: String
    public var familyID: String
    public var givenName: String
    public var birthDate: CivilDate
    public var specialNeeds: Bool

    public init(id: String, familyID: String, givenName: String, birthDate: CivilDate, specialNeeds: Bool = false) {
        self.id = id
        self.familyID = familyID
        self.givenName = givenName
        self.birthDate = birthDate
        self.specialNeeds = specialNeeds
    }
}

/// A booking: one place in every session of `pattern` on every open day from `first` to `last`
/// (no `last`: until ended).
public struct Placement: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, Codable {
        case active, cancelled
    }

    public var id: String
    public var childID: String
    public var groupID: String
    /// The child's family kind, which decides which reserved places it may use.
    public var kind: FamilyKind
    public var first: CivilDate
    public var last: CivilDate?
    public var pattern: WeeklyPattern
    public var state: State
    /// The group's nursery (kept with the placement for listing by nursery).
    public var nurseryID: String

    public init(
        id: String, childID: String, groupID: String, kind: FamilyKind, first: CivilDate, last: CivilDate?,
        pattern: WeeklyPattern, state: State = .active, nurseryID: String = ""
    ) {
        self.nurseryID = nurseryID
        self.id = id
        self.childID = childID
        self.groupID = groupID
        self.kind = kind
        self.first = first
        self.last = last
        self.pattern = pattern
        self.state = state
    }

    public var span: PlacementSpan { PlacementSpan(kind: kind, first: first, last: last, pattern: pattern) }

    /// Whether the placement covers `slot` on `date` (ignoring closures).
    public func covers(_ date: CivilDate, _ session: Session) -> Bool {
        state == .active && date >= first && (last.map { date <= $0 } ?? true)
            && pattern.contains(Slot(date.weekday, session))
    }
}

/// What the capacity ledger needs of a placement.
public struct PlacementSpan: Sendable, Hashable {
    public var kind: FamilyKind
    public var first: CivilDate
    public var last: CivilDate?
    public var pattern: WeeklyPattern

    public init(kind: FamilyKind, first: CivilDate, last: CivilDate?, pattern: WeeklyPattern) {
        self.kind = kind
        self.first = first
        self.last = last
        self.pattern = pattern
    }
}

extension PlacementSpan {
    /// The first session that this span (at `nursery`) and `other` (at `otherNursery`) both
    /// take: a day in both date ranges, open at both nurseries, on which both patterns hold the
    /// same session. Nil when the two never meet, however their weekdays overlap.
    ///
    /// Each shared weekday is walked a week at a time only past closure dates, so the work is
    /// bounded by the number of closures, even for spans with no last day.
    public func firstSharedSession(at nursery: Nursery, with other: PlacementSpan, at otherNursery: Nursery) -> (date: CivilDate, session: Session)? {
        let shared = pattern.intersection(other.pattern)
        guard !shared.isEmpty else { return nil }
        let start = max(first, other.first)
        let end: CivilDate? = [last, other.last].compactMap { $0 }.min()
        var earliest: (date: CivilDate, session: Session)?
        for weekday in shared.weekdays
        where nursery.openWeekdays.contains(weekday) && otherNursery.openWeekdays.contains(weekday) {
            var day = start.adding(days: (weekday.rawValue - start.weekday.rawValue + 7) % 7)
            while end.map({ day <= $0 }) ?? true {
                if !nursery.closures.contains(day), !otherNursery.closures.contains(day) {
                    let session: Session = shared.contains(Slot(weekday, .morning)) ? .morning : .afternoon
                    if earliest.map({ (day, session) < ($0.date, $0.session) }) ?? true { earliest = (day, session) }
                    break
                }
                day = day.adding(days: 7)
            }
        }
        return earliest
    }
}
