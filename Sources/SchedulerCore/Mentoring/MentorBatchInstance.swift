/// Random mentor batches for tests and benchmarks, shaped like one site's ("almaty"): mentors of
/// eight fields with 1-4 weekly windows starting 14:00-18:00, young people with 1-3 fields, 2-6
/// sessions over 4-8 weeks from 2027-01-04 and 2-4 windows starting 14:00-17:30 (Monday to
/// Saturday, 2-4 hours each), weekly counsellor sessions for about half of them, a current
/// mentor for about 30% (mostly one sharing a field) and a few mentors with mentees from before.
/// The same seed gives the same batch on every platform (SplitMix64).
public enum MentorBatchInstance {
    public static let siteID = "almaty"
    public static let fields = ["it", "finance", "crafts", "cooking", "music", "sport", "languages", "design"]
    /// 2027-01-04, a Monday: every item's first date.
    public static let from = CivilDate(year: 2027, month: 1, day: 4) ?? CivilDate(dayNumber: 20_822)

    /// Mentors `m0...` (1-3 fields, capacity 5-15, 1-4 windows of 2-4 hours, sessions of 60
    /// minutes, now and then 45 or 90) and items `y0...` for young people of the same ids, in
    /// id-number order.
    public static func random(items itemCount: Int, mentors mentorCount: Int, seed: UInt64) -> MentorBatch {
        var random = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { n <= 1 ? 0 : Int(random.next() % UInt64(n)) }
        func fieldSet() -> Set<String> {
            var set = Set<String>()
            let count = 1 + pick(3)
            while set.count < count { set.insert(fields[pick(fields.count)]) }
            return set
        }
        /// `count` windows on distinct days from Monday to Saturday, starting from `earliest`
        /// (in quarter hours) within `spread` quarters, 2-4 hours long.
        func windows(_ count: Int, earliest: Int, spread: Int) -> [WeeklyWindow] {
            var days = Array(Weekday.allCases.prefix(6))
            var result: [WeeklyWindow] = []
            for _ in 0..<min(count, days.count) {
                let day = days.remove(at: pick(days.count))
                let start = (earliest + pick(spread + 1)) * TimeGrid.minutes
                result.append(WeeklyWindow(weekday: day, start: start, end: start + (8 + pick(9)) * TimeGrid.minutes))
            }
            return result
        }

        var mentors: [Mentor] = []
        var activeMentees: [String: Int] = [:]
        var mentorBusy: [BusyInterval] = []
        var mentorsByField: [String: [Int]] = [:]
        let rangeWeeks = 8
        for index in 0..<mentorCount {
            let lengthRoll = pick(8)
            let mentor = Mentor(
                id: "m\(index)", siteID: siteID, organisation: "org\(pick(max(1, mentorCount / 5)))", name: "Mentor \(index)", fields: fieldSet(),
                capacity: 5 + pick(11), availability: Availability(windows: windows(1 + pick(4), earliest: 56, spread: 16)),
                sessionMinutes: lengthRoll == 0 ? 45 : lengthRoll == 1 ? 90 : 60)
            mentors.append(mentor)
            for field in mentor.fields { mentorsByField[field, default: []].append(index) }
            // A few mentors have mentees from before, met weekly at the start of a window.
            guard pick(5) == 0 else { continue }
            let active = 1 + pick(3)
            activeMentees[mentor.id] = active
            for mentee in 0..<active {
                let window = mentor.availability.windows[mentee % mentor.availability.windows.count]
                let start = window.start + mentee / mentor.availability.windows.count * mentor.sessionMinutes
                guard start + mentor.sessionMinutes <= window.end else { continue }
                for week in 0..<rangeWeeks {
                    let date = from.adding(days: week * 7 + window.weekday.rawValue - 1)
                    mentorBusy.append(BusyInterval(personID: mentor.id, date: date, start: start, end: start + mentor.sessionMinutes))
                }
            }
        }

        var items: [MentorBatchItem] = []
        var currentMentor: [String: String] = [:]
        var availability: [String: Availability] = [:]
        var youngPersonBusy: [BusyInterval] = []
        for index in 0..<itemCount {
            let id = "y\(index)"
            let fieldsOfInterest = fieldSet()
            let weeks = 4 + pick(5)
            let to = from.adding(days: weeks * 7 - 1)
            items.append(MentorBatchItem(youngPersonID: id, siteID: siteID, fields: fieldsOfInterest, sessions: 2 + pick(5), from: from, to: to))
            let personWindows = windows(2 + pick(3), earliest: 56, spread: 14)
            let away: Set<CivilDate> = pick(10) == 0 ? [from.adding(days: pick(weeks * 7))] : []
            availability[id] = Availability(windows: personWindows, awayDates: away)
            if !mentors.isEmpty, pick(10) < 3 {
                // Mostly a mentor sharing one of the fields, now and then any mentor.
                let sharing = mentorsByField[fieldsOfInterest.sorted()[pick(fieldsOfInterest.count)], default: []]
                let mentor = pick(5) > 0 && !sharing.isEmpty ? sharing[pick(sharing.count)] : pick(mentors.count)
                currentMentor[id] = mentors[mentor].id
            }
            // About half meet a counsellor weekly, inside one of their own windows.
            if pick(2) == 0, let window = personWindows.first {
                let minutes = [45, 60, 60, 90][pick(4)]
                let latest = max(0, (window.end - window.start - minutes) / TimeGrid.minutes)
                let start = window.start + pick(latest + 1) * TimeGrid.minutes
                for week in 0..<weeks {
                    let date = from.adding(days: week * 7 + window.weekday.rawValue - 1)
                    youngPersonBusy.append(BusyInterval(personID: id, date: date, start: start, end: start + minutes))
                }
            }
        }
        return MentorBatch(
            id: "\(siteID)-\(seed)", items: items, mentors: mentors, currentMentor: currentMentor, activeMentees: activeMentees,
            youngPersonAvailability: availability, youngPersonBusy: youngPersonBusy, mentorBusy: mentorBusy)
    }

    /// The batch's young people as counselling records, in the order of its items, spread over
    /// `homes` homes (`h0...`): what a server needs imported before it can run the same batch.
    /// A young person without availability in the batch gets none.
    public static func youngPeople(of batch: MentorBatch, homes: Int = 3) -> [YoungPerson] {
        batch.items.enumerated().map { index, item in
            YoungPerson(
                id: item.youngPersonID, homeID: "h\(index % max(1, homes))", name: item.youngPersonID,
                availability: batch.youngPersonAvailability[item.youngPersonID] ?? Availability())
        }
    }
}
