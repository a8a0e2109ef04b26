/// The hard rules of planning (domain.md, "Week planning") for one session placed by hand:
/// a rescheduled session must keep every rule a planned one keeps.
public enum SessionRules {
    /// Checks `session` against the week's other sessions (`others`: any status; cancelled
    /// ones take no time). Throws `FAILED_PRECONDITION` naming the rule and the people, with
    /// `field` the request field that chose the time.
    public static func check(
        _ session: CounsellingSession, person: YoungPerson, counsellor: Counsellor, others: [CounsellingSession], travelBufferMinutes: Int = 15,
        field: String = "start"
    ) throws(SchedulerError) {
        func refuse(_ message: String) -> SchedulerError { SchedulerError(.failedPrecondition, message, field: field) }
        let when = "\(session.date) \(TimeGrid.text(session.start))-\(TimeGrid.text(session.end))"
        guard session.start % TimeGrid.minutes == 0, session.start >= 0, session.end <= TimeGrid.dayMinutes else {
            throw refuse("\(when) is not on the 15-minute grid of one day")
        }
        guard counsellor.isQualified(for: person) else {
            let missing = person.requiredQualifications.subtracting(counsellor.qualifications).sorted().joined(separator: ", ")
            throw refuse("counsellor \(counsellor.id) lacks the qualifications \(missing) that young person \(person.id) needs")
        }
        func inside(_ availability: Availability) -> Bool {
            availability.windows(on: session.date).contains { $0.start <= session.start && session.end <= $0.end }
        }
        guard inside(person.availability) else { throw refuse("young person \(person.id) is not available at \(when)") }
        guard inside(counsellor.availability) else { throw refuse("counsellor \(counsellor.id) is not available at \(when)") }
        let live = others.filter { $0.status != .cancelled && $0.id != session.id }
        if let same = live.first(where: { $0.youngPersonID == person.id && $0.date == session.date }) {
            throw refuse("young person \(person.id) already has session \(same.id) on \(session.date)")
        }
        let mine = live.filter { $0.counsellorID == counsellor.id }
        for other in mine where other.date == session.date {
            let gap = other.homeID == session.homeID ? 0 : travelBufferMinutes
            if other.start < session.end + gap && session.start < other.end + gap {
                throw refuse(
                    "counsellor \(counsellor.id) has session \(other.id) at \(TimeGrid.text(other.start))-\(TimeGrid.text(other.end))"
                        + (gap > 0 ? " at another home (\(gap) minutes of travel between)" : ""))
            }
        }
        let monday = session.date.mondayOfWeek
        let week = mine.filter { $0.date >= monday && $0.date < monday.adding(days: 7) }
        guard week.count < counsellor.maxSessionsPerWeek else {
            throw refuse("counsellor \(counsellor.id) already has \(week.count) sessions that week (at most \(counsellor.maxSessionsPerWeek))")
        }
        let dayMinutes = week.filter { $0.date == session.date }.reduce(0) { $0 + $1.minutes }
        guard dayMinutes + session.minutes <= counsellor.maxMinutesPerDay else {
            throw refuse(
                "counsellor \(counsellor.id) would work \(dayMinutes + session.minutes) minutes on \(session.date) (at most \(counsellor.maxMinutesPerDay))")
        }
    }
}

extension CounsellingSession {
    /// Planned sessions take the ids of the sessions they replace, so calendars see the same
    /// events change: per young person, a planned session at the slot (counsellor, date,
    /// start) of an old one takes its id; the others take that young person's remaining old
    /// ids in date order; the rest keep theirs (new ones have none yet).
    public static func reusingIDs(_ planned: [CounsellingSession], from before: [CounsellingSession]) -> [CounsellingSession] {
        var result: [CounsellingSession] = []
        let byPerson = Dictionary(grouping: before.sorted { ($0.date, $0.start, $0.id) < ($1.date, $1.start, $1.id) }, by: \.youngPersonID)
        for (person, sessions) in Dictionary(grouping: planned, by: \.youngPersonID).sorted(by: { $0.key < $1.key }) {
            var old = byPerson[person] ?? []
            var rest: [CounsellingSession] = []
            for session in sessions.sorted(by: { ($0.date, $0.start) < ($1.date, $1.start) }) {
                if let same = old.firstIndex(where: { $0.counsellorID == session.counsellorID && $0.date == session.date && $0.start == session.start }) {
                    var kept = session
                    kept.id = old[same].id
                    old.remove(at: same)
                    result.append(kept)
                } else {
                    rest.append(session)
                }
            }
            for session in rest {
                var moved = session
                if !old.isEmpty { moved.id = old.removeFirst().id }
                result.append(moved)
            }
        }
        return result
    }

    /// Whether a calendar sees a change: time, counsellor, place or status.
    public func differsForCalendar(from other: CounsellingSession) -> Bool {
        date != other.date || start != other.start || minutes != other.minutes || counsellorID != other.counsellorID || homeID != other.homeID
            || status != other.status
    }
}
