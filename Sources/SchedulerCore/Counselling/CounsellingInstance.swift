/// Random counselling sites for tests and benchmarks: homes, young people with windows on a
/// few days, counsellors with windows, qualifications and limits, preferred and last week's
/// counsellors, and now and then a pinned session. The same seed gives the same site on every
/// platform (SplitMix64).
public enum CounsellingInstance {
    /// The Monday of the ISO week the random sites are planned for (2026-W48).
    public static let monday = CivilDate(isoWeek: "2026-W48")!

    /// A random site of `people` young people (1-3 sessions of 45, 60 or 90 minutes) and
    /// `counsellors` counsellors (2-9 sessions a week, 2-5 hours a day) over `homes` homes.
    public static func random(seed: UInt64, people: Int, counsellors: Int, homes: Int = 3, monday: CivilDate = monday) -> WeekPlanningProblem {
        var random = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func windows(_ days: Int, from: Int, to: Int) -> [WeeklyWindow] {
            var result: [WeeklyWindow] = []
            var usedDays = Set<Int>()
            for _ in 0..<days {
                let day = 1 + pick(7)
                guard usedDays.insert(day).inserted else { continue }
                let start = (from + pick((to - from) / 15 / 2)) * 15
                let length = (4 + pick(16)) * 15
                result.append(WeeklyWindow(weekday: Weekday(rawValue: day)!, start: start, end: min(TimeGrid.dayMinutes, start + length)))
            }
            return result
        }
        let counsellorList = (0..<counsellors).map { index in
            Counsellor(
                id: "c\(index)", siteID: "s", availability: Availability(windows: windows(3 + pick(3), from: 32, to: 64)),
                qualifications: pick(3) == 0 ? ["trauma"] : [], maxSessionsPerWeek: 2 + pick(8), maxMinutesPerDay: (2 + pick(4)) * 60)
        }
        let peopleList = (0..<people).map { index in
            YoungPerson(
                id: "y\(index)", homeID: "h\(pick(homes))", availability: Availability(windows: windows(2 + pick(4), from: 36, to: 72)),
                sessionsPerWeek: 1 + pick(3), minutesPerSession: [45, 60, 60, 90][pick(4)],
                preferredCounsellorID: pick(3) == 0 ? "c\(pick(counsellors))" : nil,
                requiredQualifications: pick(6) == 0 ? ["trauma"] : [])
        }
        var last: [String: String] = [:]
        for person in peopleList where pick(2) == 0 { last[person.id] = "c\(pick(counsellors))" }
        // A pinned session now and then, where the counsellor's other pinned sessions, limits
        // and travel buffer leave room for it.
        let travelBuffer = 15
        var kept: [CounsellingSession] = []
        var keptByCounsellor: [String: [CounsellingSession]] = [:]
        for person in peopleList where pick(8) == 0 {
            let counsellor = counsellorList[pick(counsellorList.count)]
            guard let window = person.availability.windows.first,
                let shared = counsellor.availability.windows.first(where: { $0.weekday == window.weekday }),
                min(window.end, shared.end) - max(window.start, shared.start) >= person.minutesPerSession
            else { continue }
            let pinned = CounsellingSession(
                id: "k\(kept.count)", youngPersonID: person.id, counsellorID: counsellor.id,
                date: monday.adding(days: window.weekday.rawValue - 1), start: max(window.start, shared.start), minutes: person.minutesPerSession,
                homeID: person.homeID, pinned: true)
            let theirs = keptByCounsellor[counsellor.id, default: []]
            let sameDay = theirs.filter { $0.date == pinned.date }
            let apart = sameDay.allSatisfy { other in
                let gap = other.homeID == pinned.homeID ? 0 : travelBuffer
                return other.end + gap <= pinned.start || pinned.end + gap <= other.start
            }
            guard apart, theirs.count + 1 <= counsellor.maxSessionsPerWeek,
                sameDay.reduce(pinned.minutes, { $0 + $1.minutes }) <= counsellor.maxMinutesPerDay
            else { continue }
            kept.append(pinned)
            keptByCounsellor[counsellor.id, default: []].append(pinned)
        }
        return WeekPlanningProblem(
            monday: monday, youngPeople: peopleList, counsellors: counsellorList, kept: kept, lastCounsellor: last, travelBufferMinutes: travelBuffer)
    }
}
