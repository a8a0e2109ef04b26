/// A session that a placement would not fit in.
public struct Conflict: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        /// Every place of the session is taken.
        case full
        /// The free places are reserved for the other kind of family.
        case reservedForOthers
    }

    public var date: CivilDate
    public var session: Session
    public var reason: Reason
    /// Places taken in that session, before the new placement.
    public var taken: Int
    public var capacity: Int
}

/// How many sessions of a refused placement do not fit (see `CapacityLedger.conflictTally`).
public struct ConflictTally: Sendable, Hashable {
    /// Sessions without room before `endlessFrom` (all of them when it is nil).
    public var sessions: Int
    /// The first day from which some slot of the pattern has no room ever again.
    public var endlessFrom: CivilDate?

    public init(sessions: Int, endlessFrom: CivilDate?) {
        self.sessions = sessions
        self.endlessFrom = endlessFrom
    }
}

/// Occupancy of one group's session on one day.
public struct SessionOccupancy: Sendable, Hashable {
    public var capacity: Int
    /// Places taken by children of SOS families and of local families.
    public var sos: Int
    public var local: Int
    /// The group's places that only SOS (local) families' children may take.
    public var reservedSOS: Int
    public var reservedLocal: Int

    public init(capacity: Int, sos: Int, local: Int, reservedSOS: Int = 0, reservedLocal: Int = 0) {
        self.capacity = capacity
        self.sos = sos
        self.local = local
        self.reservedSOS = reservedSOS
        self.reservedLocal = reservedLocal
    }

    public var taken: Int { sos + local }
    public var free: Int { max(0, capacity - taken) }

    /// Of the free places, how many a child of a `kind` family could still take: the free places
    /// within the kind's own limit (capacity less the places reserved for the other kind).
    public func free(for kind: FamilyKind) -> Int {
        let room = kind == .sos ? capacity - reservedLocal - sos : capacity - reservedSOS - local
        return max(0, min(free, room))
    }
}

/// The capacity ledger of one group: answers "does this placement fit?" for a whole date range,
/// with the reserve rules, without walking days or placements.
///
/// For each of the 14 weekly slots it keeps three step functions over week numbers (places
/// taken in all, by SOS families, by local families), each a `StepTree` of the weeks where a
/// placement starts or stops. A placement adds +1 at its first covered week and -1 after its
/// last, per slot of its pattern. Then, for p placements in the group and c closure dates in a
/// query's range:
/// - `add` / `remove`: O(s log p) for a pattern of s slots;
/// - `check`: O(s (c + 1) log p);
/// - `occupancy(on:)`: O(log p) per session.
public struct CapacityLedger: Sendable, Hashable {
    public private(set) var group: Group
    public let openWeekdays: Set<Weekday>
    /// Closure dates per slot's weekday, as week numbers, sorted.
    private let closedWeeks: [Weekday: [Int]]
    /// Index slot * 3 + class (0 all, 1 SOS, 2 local).
    private var trees: [StepTree]
    public private(set) var placementCount = 0

    /// Week numbers far beyond any real date, standing for "no last day".
    static let openEnd = 1 << 40

    public init(group: Group, nursery: Nursery) {
        self.group = group
        self.openWeekdays = nursery.openWeekdays
        var closed: [Weekday: [Int]] = [:]
        for date in nursery.closures { closed[date.weekday, default: []].append(Self.week(of: date)) }
        self.closedWeeks = closed.mapValues { $0.sorted() }
        self.trees = Array(repeating: StepTree(), count: 14 * 3)
    }

    /// Weeks are numbered from the week of Monday 1970-01-05 (week 0).
    static func week(of date: CivilDate) -> Int {
        let offset = date.dayNumber - 4
        return offset >= 0 ? offset / 7 : (offset - 6) / 7
    }

    static func date(week: Int, weekday: Weekday) -> CivilDate {
        CivilDate(dayNumber: 4 + week * 7 + weekday.rawValue - 1)
    }

    /// The weeks in which a span covers `weekday`, or nil.
    static func weeks(of span: PlacementSpan, on weekday: Weekday) -> ClosedRange<Int>? {
        let forward = (weekday.rawValue - span.first.weekday.rawValue + 7) % 7
        let firstDay = span.first.adding(days: forward)
        let firstWeek = week(of: firstDay)
        guard let last = span.last else { return firstWeek...openEnd }
        let backward = (last.weekday.rawValue - weekday.rawValue + 7) % 7
        let lastDay = last.adding(days: -backward)
        guard firstDay <= lastDay else { return nil }
        return firstWeek...week(of: lastDay)
    }

    private func treeIndex(_ slot: Slot, _ kind: FamilyKind?) -> Int {
        slot.index * 3 + (kind == nil ? 0 : (kind == .sos ? 1 : 2))
    }

    private mutating func apply(_ span: PlacementSpan, _ sign: Int) {
        for slot in span.pattern.slots {
            guard let weeks = Self.weeks(of: span, on: slot.weekday) else { continue }
            for kind in [nil, span.kind] as [FamilyKind?] {
                let index = treeIndex(slot, kind)
                trees[index].add(sign, at: weeks.lowerBound)
                if weeks.upperBound < Self.openEnd { trees[index].add(-sign, at: weeks.upperBound + 1) }
            }
        }
    }

    public mutating func add(_ span: PlacementSpan) {
        apply(span, 1)
        placementCount += 1
    }

    /// Adds `count` placements of the same span in one step (an offer's places).
    public mutating func add(_ span: PlacementSpan, count: Int) {
        guard count > 0 else { return }
        apply(span, count)
        placementCount += count
    }

    public mutating func remove(_ span: PlacementSpan) {
        apply(span, -1)
        placementCount -= 1
    }

    /// The change points held in all of the ledger's step functions: its size (28 bytes each).
    public var changePointCount: Int { trees.reduce(0) { $0 + $1.nodeCount } }

    /// Changes the group's capacity and reserves (the placements stay as they are).
    public mutating func update(group: Group) { self.group = group }

    /// The open stretches of `weeks` for `weekday`: the weeks minus the closure dates.
    private func openRanges(_ weeks: ClosedRange<Int>, _ weekday: Weekday) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var start = weeks.lowerBound
        for closed in closedWeeks[weekday] ?? [] where closed >= weeks.lowerBound && closed <= weeks.upperBound {
            if closed > start { ranges.append(start...(closed - 1)) }
            start = closed + 1
        }
        if start <= weeks.upperBound { ranges.append(start...weeks.upperBound) }
        return ranges
    }

    /// Where a new placement would break the capacity rules: for each slot of its pattern the
    /// first full session, earliest first. Empty when it fits.
    public func conflicts(for span: PlacementSpan, limit: Int = 10) -> [Conflict] {
        var found: [Conflict] = []
        for slot in span.pattern.slots where openWeekdays.contains(slot.weekday) {
            guard let weeks = Self.weeks(of: span, on: slot.weekday) else { continue }
            var earliest: (week: Int, reason: Conflict.Reason)?
            for range in openRanges(weeks, slot.weekday) {
                let full = trees[treeIndex(slot, nil)].first(atLeast: group.capacity, range.lowerBound, range.upperBound)
                let reserved = trees[treeIndex(slot, span.kind)].first(atLeast: group.limit(for: span.kind), range.lowerBound, range.upperBound)
                let candidates = [full.map { ($0, Conflict.Reason.full) }, reserved.map { ($0, .reservedForOthers) }].compactMap { $0 }
                if let first = candidates.min(by: { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 == .full) }) {
                    earliest = first
                    break
                }
            }
            if let earliest {
                let date = Self.date(week: earliest.week, weekday: slot.weekday)
                let taken = trees[treeIndex(slot, nil)].value(at: earliest.week)
                found.append(Conflict(date: date, session: slot.session, reason: earliest.reason, taken: taken, capacity: group.capacity))
            }
        }
        found.sort { ($0.date, $0.session) < ($1.date, $1.session) }
        return Array(found.prefix(limit))
    }

    /// How many sessions of a new placement do not fit: every open session of its range on which
    /// one of the capacity rules would break, not only the first of each slot that `conflicts`
    /// lists. A placement with no last day can conflict without end (other placements with no
    /// last day hold the places): then `endlessFrom` is the first day from which some slot of
    /// the pattern never has room again, and `sessions` counts the conflicts before that day.
    public func conflictTally(for span: PlacementSpan) -> ConflictTally {
        var bad: [(slot: Slot, weeks: ClosedRange<Int>)] = []
        var endlessFrom: CivilDate?
        for slot in span.pattern.slots where openWeekdays.contains(slot.weekday) {
            guard let weeks = Self.weeks(of: span, on: slot.weekday) else { continue }
            let all = trees[treeIndex(slot, nil)].pieces(weeks.lowerBound, weeks.upperBound)
            let own = trees[treeIndex(slot, span.kind)].pieces(weeks.lowerBound, weeks.upperBound)
            let limit = group.limit(for: span.kind)
            // Walk both step functions together, piece by piece.
            var i = 0, j = 0, start = weeks.lowerBound
            while start <= weeks.upperBound {
                while i + 1 < all.count, all[i + 1].start <= start { i += 1 }
                while j + 1 < own.count, own[j + 1].start <= start { j += 1 }
                let next = min(i + 1 < all.count ? all[i + 1].start : Int.max, j + 1 < own.count ? own[j + 1].start : Int.max)
                let end = min(next - 1, weeks.upperBound)
                if all[i].value >= group.capacity || own[j].value >= limit {
                    bad.append((slot, start...end))
                    if end >= Self.openEnd, let week = openRanges(start...end, slot.weekday).first?.lowerBound {
                        let day = Self.date(week: week, weekday: slot.weekday)
                        if endlessFrom.map({ day < $0 }) ?? true { endlessFrom = day }
                    }
                }
                if end == Int.max || next == Int.max { break }
                start = end + 1
            }
        }
        var sessions = 0
        for (slot, weeks) in bad {
            var last = weeks.upperBound
            if let endlessFrom {
                last = min(last, Self.week(of: endlessFrom))
                if Self.date(week: last, weekday: slot.weekday) >= endlessFrom { last -= 1 }
            }
            guard last >= weeks.lowerBound else { continue }
            sessions += openRanges(weeks.lowerBound...last, slot.weekday).reduce(0) { $0 + $1.count }
        }
        return ConflictTally(sessions: sessions, endlessFrom: endlessFrom)
    }

    /// Whether a new placement fits every session it covers.
    public func fits(_ span: PlacementSpan) -> Bool { conflicts(for: span, limit: 1).isEmpty }

    /// The last open date in the span's range on which some session of its pattern is full for it.
    public func lastConflictDate(for span: PlacementSpan) -> CivilDate? {
        var latest: CivilDate?
        for slot in span.pattern.slots where openWeekdays.contains(slot.weekday) {
            guard let weeks = Self.weeks(of: span, on: slot.weekday) else { continue }
            for range in openRanges(weeks, slot.weekday).reversed() {
                let full = trees[treeIndex(slot, nil)].last(atLeast: group.capacity, range.lowerBound, range.upperBound)
                let reserved = trees[treeIndex(slot, span.kind)].last(atLeast: group.limit(for: span.kind), range.lowerBound, range.upperBound)
                if let week = [full, reserved].compactMap({ $0 }).max() {
                    let date = Self.date(week: week, weekday: slot.weekday)
                    if latest.map({ date > $0 }) ?? true { latest = date }
                    break
                }
            }
        }
        return latest
    }

    /// The first open week in `weeks` where the step function of `slot` and `kind` reaches `threshold`.
    func firstWeek(_ slot: Slot, _ kind: FamilyKind?, atLeast threshold: Int, in weeks: ClosedRange<Int>) -> Int? {
        for range in openRanges(weeks, slot.weekday) {
            if let week = trees[treeIndex(slot, kind)].first(atLeast: threshold, range.lowerBound, range.upperBound) {
                return week
            }
        }
        return nil
    }

    /// Places taken in one session (closures and weekdays not considered).
    public func occupancy(on date: CivilDate, _ session: Session) -> SessionOccupancy {
        let slot = Slot(date.weekday, session)
        let week = Self.week(of: date)
        return SessionOccupancy(
            capacity: group.capacity,
            sos: trees[treeIndex(slot, .sos)].value(at: week),
            local: trees[treeIndex(slot, .local)].value(at: week),
            reservedSOS: group.reservedSOS, reservedLocal: group.reservedLocal)
    }
}
