import SchedulerCore

/// Checks a week's plan against the rules of domain.md ("Week planning"), with its own day
/// and minute arithmetic: it shares nothing with the planner but the input types.
public enum CounsellingChecker {
    /// ISO weekday 1 (Monday) to 7 of a date, from its year, month and day (Sakamoto's method).
    public static func isoWeekday(_ date: CivilDate) -> Int {
        let (y0, m, d) = date.components
        let offsets = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4]
        let y = m < 3 ? y0 - 1 : y0
        let sunday0 = (y + y / 4 - y / 100 + y / 400 + offsets[m - 1] + d) % 7  // 0 = Sunday
        return sunday0 == 0 ? 7 : sunday0
    }

    /// Whether [start, end) on `date` lies inside one window of `availability`.
    static func inside(_ availability: Availability, _ date: CivilDate, _ start: Int, _ end: Int) -> Bool {
        if availability.awayDates.contains(date) { return false }
        let weekday = isoWeekday(date)
        return availability.windows.contains { $0.weekday.rawValue == weekday && $0.start <= start && end <= $0.end }
    }

    /// Every broken rule, in words; empty when the plan keeps them all.
    public static func violations(
        of sessions: [CounsellingSession], in problem: WeekPlanningProblem
    ) -> [String] {
        var problems: [String] = []
        let people = Dictionary(uniqueKeysWithValues: problem.youngPeople.map { ($0.id, $0) })
        let counsellors = Dictionary(uniqueKeysWithValues: problem.counsellors.map { ($0.id, $0) })
        let weekDays = Set((0..<7).map { problem.monday.dayNumber + $0 })
        let kept = problem.kept.filter { $0.status != .cancelled }
        let all = kept + sessions
        for s in sessions {
            guard let person = people[s.youngPersonID] else {
                problems.append("unknown young person \(s.youngPersonID)")
                continue
            }
            guard let counsellor = counsellors[s.counsellorID] else {
                problems.append("unknown counsellor \(s.counsellorID)")
                continue
            }
            if !weekDays.contains(s.date.dayNumber) { problems.append("\(s.youngPersonID) on \(s.date): outside the week") }
            if s.minutes != person.minutesPerSession { problems.append("\(s.youngPersonID) on \(s.date): \(s.minutes) minutes") }
            if s.start % 15 != 0 || s.start < 0 || s.start + s.minutes > 1440 { problems.append("\(s.youngPersonID) on \(s.date): off the grid") }
            if !inside(person.availability, s.date, s.start, s.start + s.minutes) {
                problems.append("\(s.youngPersonID) on \(s.date) at \(s.start): outside the young person's availability")
            }
            if !inside(counsellor.availability, s.date, s.start, s.start + s.minutes) {
                problems.append("\(s.youngPersonID) on \(s.date) at \(s.start): outside \(s.counsellorID)'s availability")
            }
            if !person.requiredQualifications.isSubset(of: counsellor.qualifications) {
                problems.append("\(s.counsellorID) lacks a qualification \(s.youngPersonID) needs")
            }
            if s.homeID != person.homeID { problems.append("\(s.youngPersonID)'s session is not at their home") }
        }
        // A counsellor is never in two places at once, with the travel buffer between homes.
        let byCounsellor = Dictionary(grouping: all, by: \.counsellorID)
        for (id, list) in byCounsellor {
            for (i, a) in list.enumerated() {
                for b in list[(i + 1)...] where a.date == b.date {
                    let gap = a.homeID == b.homeID ? 0 : problem.travelBufferMinutes
                    let apart = a.start + a.minutes + gap <= b.start || b.start + b.minutes + gap <= a.start
                    if !apart { problems.append("\(id) has sessions too close on \(a.date) at \(a.start) and \(b.start)") }
                }
            }
            guard let counsellor = counsellors[id] else { continue }
            if list.count > counsellor.maxSessionsPerWeek { problems.append("\(id) has \(list.count) sessions, over \(counsellor.maxSessionsPerWeek)") }
            for (date, day) in Dictionary(grouping: list, by: \.date) {
                let minutes = day.reduce(0) { $0 + $1.minutes }
                if minutes > counsellor.maxMinutesPerDay { problems.append("\(id) works \(minutes) minutes on \(date)") }
            }
        }
        // A young person's sessions on different days, and no more than needed.
        for (id, list) in Dictionary(grouping: all, by: \.youngPersonID) {
            if Set(list.map(\.date)).count != list.count { problems.append("\(id) has two sessions on one day") }
            if let person = people[id], list.count > max(person.sessionsPerWeek, kept.filter { $0.youngPersonID == id }.count) {
                problems.append("\(id) has \(list.count) sessions, needs \(person.sessionsPerWeek)")
            }
        }
        return problems
    }

    /// Sessions with the preferred (else last) counsellor, counted from the input.
    public static func continuity(of sessions: [CounsellingSession], in problem: WeekPlanningProblem) -> Int {
        let people = Dictionary(uniqueKeysWithValues: problem.youngPeople.map { ($0.id, $0) })
        return sessions.filter { s in
            guard let person = people[s.youngPersonID] else { return false }
            return (person.preferredCounsellorID ?? problem.lastCounsellor[person.id]) == s.counsellorID
        }.count
    }

    /// The best (placed, continuity) of any plan, by exhaustive search over every counsellor,
    /// day and 15-minute start: for tiny instances only.
    public static func optimum(_ problem: WeekPlanningProblem) -> (placed: Int, continuity: Int) {
        var needs: [YoungPerson] = []
        for person in problem.youngPeople.sorted(by: { $0.id < $1.id }) {
            let kept = problem.kept.filter { $0.youngPersonID == person.id && $0.status != .cancelled }.count
            needs += Array(repeating: person, count: max(0, person.sessionsPerWeek - kept))
        }
        var options: [[CounsellingSession]] = []
        for person in needs {
            var list: [CounsellingSession] = []
            for counsellor in problem.counsellors {
                for offset in 0..<7 {
                    let date = problem.monday.adding(days: offset)
                    var start = 0
                    while start + person.minutesPerSession <= 1440 {
                        if inside(person.availability, date, start, start + person.minutesPerSession),
                            inside(counsellor.availability, date, start, start + person.minutesPerSession)
                        {
                            list.append(
                                CounsellingSession(
                                    id: "", youngPersonID: person.id, counsellorID: counsellor.id, date: date, start: start,
                                    minutes: person.minutesPerSession, homeID: person.homeID))
                        }
                        start += 15
                    }
                }
            }
            options.append(list)
        }
        var best = (placed: 0, continuity: 0)
        var chosen: [CounsellingSession] = []
        func search(_ index: Int) {
            if index == options.count {
                let value = (chosen.count, continuity(of: chosen, in: problem))
                if value > best { best = value }
                return
            }
            if chosen.count + (options.count - index) < best.placed { return }
            for option in options[index] {
                chosen.append(option)
                if violations(of: chosen, in: problem).isEmpty { search(index + 1) }
                chosen.removeLast()
            }
            search(index + 1)
        }
        search(0)
        return best
    }
}
