/// The placing step of a mentor batch: each pair's sessions, week by week from the item's first
/// date, at the earliest time on the 15-minute grid that is inside a window of both the mentor
/// and the young person, inside the item's dates, and clashes with nothing either has (the busy
/// lists given and the sessions this batch placed before). At most one session a pair in an ISO
/// week. Pairs go in young person id order.
public struct MentorSessionPlacer: Sendable {
    /// Taken times by person, then day number.
    private var youngPersonBusy: [String: [Int: [(start: Int, end: Int)]]] = [:]
    private var mentorBusy: [String: [Int: [(start: Int, end: Int)]]] = [:]
    private let batchID: String?

    public init(batchID: String? = nil, youngPersonBusy: [BusyInterval], mentorBusy: [BusyInterval]) {
        self.batchID = batchID
        for busy in youngPersonBusy { self.youngPersonBusy[busy.personID, default: [:]][busy.date.dayNumber, default: []].append((busy.start, busy.end)) }
        for busy in mentorBusy { self.mentorBusy[busy.personID, default: [:]][busy.date.dayNumber, default: []].append((busy.start, busy.end)) }
    }

    /// Places one pair's sessions and marks them taken. Refusals name the weeks that had no
    /// room, as many as sessions are missing; missing sessions beyond those (fewer weeks in the
    /// range than sessions) come in one refusal without a week.
    public mutating func place(_ item: MentorBatchItem, with mentor: Mentor, youngPersonAvailability: Availability) -> (
        sessions: [MentorSession], refusals: [MentorRefusal]
    ) {
        var sessions: [MentorSession] = []
        var failedWeeks: [String] = []
        let length = mentor.sessionMinutes
        var monday = item.from.mondayOfWeek
        weeks: while monday <= item.to, sessions.count < item.sessions {
            defer { monday = monday.adding(days: 7) }
            let first = max(monday, item.from)
            let last = min(monday.adding(days: 6), item.to)
            var day = first
            while day <= last {
                if let start = earliestStart(on: day, length: length, mentor: mentor, youngPersonID: item.youngPersonID, youngPersonAvailability) {
                    let session = MentorSession(
                        id: "\(batchID ?? "batch")-\(item.youngPersonID)-\(sessions.count + 1)", mentorID: mentor.id, youngPersonID: item.youngPersonID,
                        date: day, start: start, minutes: length, batchID: batchID)
                    sessions.append(session)
                    youngPersonBusy[item.youngPersonID, default: [:]][day.dayNumber, default: []].append((start, start + length))
                    mentorBusy[mentor.id, default: [:]][day.dayNumber, default: []].append((start, start + length))
                    continue weeks
                }
                day = day.adding(days: 1)
            }
            failedWeeks.append(monday.isoWeekText)
        }
        let missing = item.sessions - sessions.count
        var refusals = failedWeeks.prefix(missing).map {
            MentorRefusal(youngPersonID: item.youngPersonID, mentorID: mentor.id, reason: .noSharedFreeTime, week: $0, sessions: 1)
        }
        if missing > failedWeeks.count {
            refusals.append(
                MentorRefusal(youngPersonID: item.youngPersonID, mentorID: mentor.id, reason: .noSharedFreeTime, sessions: missing - failedWeeks.count))
        }
        return (sessions, refusals)
    }

    private func earliestStart(on day: CivilDate, length: Int, mentor: Mentor, youngPersonID: String, _ availability: Availability) -> Int? {
        let mentorTaken = mentorBusy[mentor.id]?[day.dayNumber] ?? []
        let personTaken = youngPersonBusy[youngPersonID]?[day.dayNumber] ?? []
        var best: Int?
        for mentorWindow in mentor.availability.windows(on: day) {
            for personWindow in availability.windows(on: day) {
                let from = max(mentorWindow.start, personWindow.start)
                let to = min(mentorWindow.end, personWindow.end)
                var start = (from + TimeGrid.minutes - 1) / TimeGrid.minutes * TimeGrid.minutes
                while start + length <= to, start < (best ?? Int.max) {
                    let end = start + length
                    if let clash = (mentorTaken + personTaken).filter({ $0.start < end && start < $0.end }).map(\.end).max() {
                        // Jump past the clash, back onto the grid.
                        start = max(start + TimeGrid.minutes, (clash + TimeGrid.minutes - 1) / TimeGrid.minutes * TimeGrid.minutes)
                        continue
                    }
                    best = start
                    break
                }
            }
        }
        return best
    }
}
