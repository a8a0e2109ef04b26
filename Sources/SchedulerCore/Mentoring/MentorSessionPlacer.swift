/// The placing step of a mentor batch: each pair's sessions, week by week from the item's first
/// date, at the earliest time on the 15-minute grid that is inside a window of both the mentor
/// and the young person, inside the item's dates, and clashes with nothing either has (the busy
/// lists given and the sessions this batch placed before). At most one session a pair in an ISO
/// week, counting the pair's sessions from before the batch. Pairs go in young person id order.
public struct MentorSessionPlacer: Sendable {
    private typealias Taken = (day: Int, start: Int, end: Int)

    /// Taken times by person: the lists, and each person's list by id.
    private var youngPersonTaken: [[Taken]] = []
    private var youngPersonIndex: [String: Int] = [:]
    private var mentorTaken: [[Taken]] = []
    private var mentorIndex: [String: Int] = [:]
    private let batchID: String?
    /// The weeks where a pair has a session already.
    private struct PairWeek: Hashable {
        var mentor: String
        var person: String
        var monday: Int
    }
    private let pairWeeks: Set<PairWeek>

    public init(batchID: String? = nil, youngPersonBusy: [BusyInterval], mentorBusy: [BusyInterval], pairSessions: [MentorSession] = []) {
        self.batchID = batchID
        pairWeeks = Set(pairSessions.map { PairWeek(mentor: $0.mentorID, person: $0.youngPersonID, monday: $0.date.mondayOfWeek.dayNumber) })
        for busy in youngPersonBusy {
            let index = Self.index(of: busy.personID, in: &youngPersonIndex, lists: &youngPersonTaken)
            youngPersonTaken[index].append((busy.date.dayNumber, busy.start, busy.end))
        }
        for busy in mentorBusy {
            let index = Self.index(of: busy.personID, in: &mentorIndex, lists: &mentorTaken)
            mentorTaken[index].append((busy.date.dayNumber, busy.start, busy.end))
        }
    }

    private static func index(of id: String, in index: inout [String: Int], lists: inout [[Taken]]) -> Int {
        if let known = index[id] { return known }
        index[id] = lists.count
        lists.append([])
        return lists.count - 1
    }

    /// Places one pair's sessions and marks them taken. Refusals name the weeks that had no
    /// room, as many as sessions are missing; missing sessions beyond those (fewer weeks in the
    /// range than sessions) come in one refusal without a week.
    public mutating func place(_ item: MentorBatchItem, with mentor: Mentor, youngPersonAvailability: Availability) -> (
        sessions: [MentorSession], refusals: [MentorRefusal]
    ) {
        let person = Self.index(of: item.youngPersonID, in: &youngPersonIndex, lists: &youngPersonTaken)
        let mentorNumber = Self.index(of: mentor.id, in: &mentorIndex, lists: &mentorTaken)
        let length = mentor.sessionMinutes
        // Where both have a window on a weekday: from the first start on the grid to the end.
        var shared: [(weekday: Int, from: Int, to: Int)] = []
        var sharedDays = Array(repeating: false, count: 8)
        for mentorWindow in mentor.availability.windows {
            for personWindow in youngPersonAvailability.windows where personWindow.weekday == mentorWindow.weekday {
                let from = (max(mentorWindow.start, personWindow.start) + TimeGrid.minutes - 1) / TimeGrid.minutes * TimeGrid.minutes
                let to = min(mentorWindow.end, personWindow.end)
                guard from + length <= to else { continue }
                shared.append((mentorWindow.weekday.rawValue, from, to))
                sharedDays[mentorWindow.weekday.rawValue] = true
            }
        }
        // Both people's taken times inside the item's dates, by day: days are tried in order, so
        // a cursor walks this list once.
        var taken: [Taken] = []
        if !shared.isEmpty {
            let range = item.from.dayNumber...item.to.dayNumber
            taken = youngPersonTaken[person].filter { range.contains($0.day) } + mentorTaken[mentorNumber].filter { range.contains($0.day) }
            taken.sort { $0.day < $1.day }
        }
        var cursor = 0

        var sessions: [MentorSession] = []
        var failedWeeks: [CivilDate] = []
        var monday = item.from.mondayOfWeek
        weeks: while monday <= item.to, sessions.count < item.sessions {
            defer { monday = monday.adding(days: 7) }
            if !shared.isEmpty, pairWeeks.isEmpty || !pairWeeks.contains(PairWeek(mentor: mentor.id, person: item.youngPersonID, monday: monday.dayNumber)) {
                var day = max(monday, item.from)
                let last = min(monday.adding(days: 6), item.to)
                while day <= last {
                    defer { day = day.adding(days: 1) }
                    let weekday = day.weekday.rawValue
                    guard sharedDays[weekday], !mentor.availability.awayDates.contains(day), !youngPersonAvailability.awayDates.contains(day) else {
                        continue
                    }
                    while cursor < taken.count, taken[cursor].day < day.dayNumber { cursor += 1 }
                    var end = cursor
                    while end < taken.count, taken[end].day == day.dayNumber { end += 1 }
                    guard let start = Self.earliestStart(length: length, weekday: weekday, shared: shared, taken: taken[cursor..<end]) else { continue }
                    sessions.append(
                        MentorSession(
                            id: "\(batchID ?? "batch")-\(item.youngPersonID)-\(sessions.count + 1)", mentorID: mentor.id,
                            youngPersonID: item.youngPersonID, date: day, start: start, minutes: length, batchID: batchID))
                    youngPersonTaken[person].append((day.dayNumber, start, start + length))
                    mentorTaken[mentorNumber].append((day.dayNumber, start, start + length))
                    continue weeks
                }
            }
            failedWeeks.append(monday)
        }
        let missing = item.sessions - sessions.count
        var refusals = failedWeeks.prefix(missing).map {
            MentorRefusal(youngPersonID: item.youngPersonID, mentorID: mentor.id, reason: .noSharedFreeTime, week: $0.isoWeekText, sessions: 1)
        }
        if missing > failedWeeks.count {
            refusals.append(
                MentorRefusal(youngPersonID: item.youngPersonID, mentorID: mentor.id, reason: .noSharedFreeTime, sessions: missing - failedWeeks.count))
        }
        return (sessions, refusals)
    }

    /// The earliest start in any shared window of the weekday, jumping past clashes with the
    /// day's taken times.
    private static func earliestStart(length: Int, weekday: Int, shared: [(weekday: Int, from: Int, to: Int)], taken: ArraySlice<Taken>) -> Int? {
        var best: Int?
        for window in shared where window.weekday == weekday {
            var start = window.from
            while start + length <= window.to, start < (best ?? Int.max) {
                let end = start + length
                var clash: Int?
                for other in taken where other.start < end && start < other.end { clash = max(clash ?? other.end, other.end) }
                if let clash {
                    // Jump past the clash, back onto the grid.
                    start = max(start + TimeGrid.minutes, (clash + TimeGrid.minutes - 1) / TimeGrid.minutes * TimeGrid.minutes)
                    continue
                }
                best = start
                break
            }
        }
        return best
    }
}
