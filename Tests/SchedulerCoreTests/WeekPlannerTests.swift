import SchedulerCore
import SchedulerTesting
import Testing

/// The week planner judged by `CounsellingChecker`, which reads the rules from domain.md with
/// its own arithmetic, on random instances; and against exhaustive search on tiny ones.
struct WeekPlannerTests {
    static let monday = CivilDate(isoWeek: "2026-W48")!

    /// A random site: homes, young people with windows on a few days, counsellors with
    /// windows, qualifications and limits, preferences, last week's counsellors, pinned sessions.
    static func instance(seed: UInt64, people: Int, counsellors: Int, homes: Int = 3) -> WeekPlanningProblem {
        var random = SeededRandom(seed: seed)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func windows(_ days: Int, from: Int, to: Int) -> [WeeklyWindow] {
            var result: [WeeklyWindow] = []
            var usedDays = Set<Int>()
            for _ in 0..<days {
                let day = 1 + pick(7)
                guard usedDays.insert(day).inserted else { continue }
                let start = (from + pick((to - from) / 15 / 2)) * 15
                let length = (4 + pick(16)) * 15
                result.append(WeeklyWindow(weekday: Weekday(rawValue: day)!, start: start, end: min(24 * 60, start + length)))
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
        // A pinned session now and then, placed where the checker accepts it.
        var kept: [CounsellingSession] = []
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
            if CounsellingChecker.violations(
                of: [], in: WeekPlanningProblem(monday: monday, youngPeople: peopleList, counsellors: counsellorList, kept: kept + [pinned])
            ).isEmpty {
                kept.append(pinned)
            }
        }
        return WeekPlanningProblem(monday: monday, youngPeople: peopleList, counsellors: counsellorList, kept: kept, lastCounsellor: last)
    }

    @Test(arguments: 0..<200)
    func everyPlanKeepsEveryRule(seed: UInt64) {
        let problem = Self.instance(seed: seed, people: 4 + Int(seed % 20), counsellors: 1 + Int(seed % 5))
        let plan = WeekPlanner(seed: seed).plan(problem)
        let broken = CounsellingChecker.violations(of: plan.sessions, in: problem)
        #expect(broken.isEmpty, "seed \(seed): \(broken.prefix(3))")
        // The score is what the sessions say; the bound is a bound; unplaced adds up.
        #expect(plan.score.placed == plan.sessions.count)
        #expect(plan.score.continuity == CounsellingChecker.continuity(of: plan.sessions, in: problem))
        #expect(plan.sessions.count <= plan.upperBound, "seed \(seed)")
        #expect(plan.upperBound <= plan.demand)
        #expect(plan.sessions.count + plan.unplaced.reduce(0) { $0 + $1.missing } == plan.demand)
        // Pinned sessions are not repeated or moved: the plan holds only new sessions.
        #expect(plan.sessions.allSatisfy { !$0.pinned })
        // Same problem, same seed: the same plan.
        #expect(WeekPlanner(seed: seed).plan(problem).sessions == plan.sessions)
    }

    @Test(arguments: 0..<40)
    func tinyInstancesReachTheExhaustiveOptimum(seed: UInt64) {
        let problem = Self.instance(seed: 10_000 + seed, people: 2 + Int(seed % 2), counsellors: 2, homes: 2)
        // Keep the search small: at most four sessions needed.
        var tiny = problem
        tiny.youngPeople = problem.youngPeople.map { person in
            var person = person
            person.sessionsPerWeek = min(person.sessionsPerWeek, 2)
            return person
        }
        let plan = WeekPlanner(seed: seed).plan(tiny)
        let best = CounsellingChecker.optimum(tiny)
        #expect(plan.sessions.count == best.placed, "seed \(seed): placed \(plan.sessions.count), optimum \(best.placed)")
        if plan.sessions.count == best.placed {
            #expect(plan.score.continuity == best.continuity, "seed \(seed): continuity \(plan.score.continuity), optimum \(best.continuity)")
        }
        #expect(best.placed <= plan.upperBound)
    }

    @Test func unplacedSessionsSayWhy() {
        let window = [WeeklyWindow(weekday: .monday, start: 9 * 60, end: 10 * 60)]
        let evening = [WeeklyWindow(weekday: .monday, start: 18 * 60, end: 20 * 60)]
        let problem = WeekPlanningProblem(
            monday: Self.monday,
            youngPeople: [
                YoungPerson(id: "needs-trauma", homeID: "h", availability: Availability(windows: window), requiredQualifications: ["trauma"]),
                YoungPerson(id: "evenings", homeID: "h", availability: Availability(windows: evening)),
                YoungPerson(id: "first", homeID: "h", availability: Availability(windows: window)),
                YoungPerson(id: "second", homeID: "h", availability: Availability(windows: window)),
            ],
            counsellors: [Counsellor(id: "c", siteID: "s", availability: Availability(windows: window))])
        let plan = WeekPlanner().plan(problem)
        let reasons = Dictionary(uniqueKeysWithValues: plan.unplaced.map { ($0.youngPersonID, $0) })
        #expect(reasons["needs-trauma"]?.reason == .noQualifiedCounsellor)
        #expect(reasons["evenings"]?.reason == .noSharedFreeTime)
        #expect(reasons["evenings"]?.counsellorIDs == ["c"])
        #expect(plan.sessions.count == 1)
        let full = reasons["first"] ?? reasons["second"]
        #expect(full?.reason == .counsellorsFull)
        #expect(plan.upperBound == 1)
    }
}
