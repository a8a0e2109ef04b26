import SchedulerCore
import SchedulerTesting
import Testing

/// Re-planning after an absence, judged by the independent checker and by a diff of the week
/// before and after computed here.
struct AbsenceReplannerTests {
    @Test(arguments: 0..<120)
    func anAbsenceMovesOnlyWhatItMustAndReportsEveryChange(seed: UInt64) {
        var problem = WeekPlannerTests.instance(seed: 50_000 + seed, people: 6 + Int(seed % 14), counsellors: 2 + Int(seed % 3))
        problem.kept = []
        let plan = WeekPlanner(seed: seed).plan(problem)
        let before = plan.sessions.enumerated().map { index, session in
            var session = session
            session.id = "s\(index)"
            return session
        }
        // The busiest counsellor is away on the days of their first sessions.
        let counts = Dictionary(grouping: before, by: \.counsellorID).mapValues(\.count)
        guard let absent = counts.max(by: { ($0.value, $1.key) < ($1.value, $0.key) })?.key else { return }
        let days = Set(before.filter { $0.counsellorID == absent }.map(\.date).sorted().prefix(1 + Int(seed % 2)))
        var after = problem
        after.counsellors = problem.counsellors.map { counsellor in
            var counsellor = counsellor
            if counsellor.id == absent { counsellor.availability.awayDates.formUnion(days) }
            return counsellor
        }
        let replan = AbsenceReplanner(planner: WeekPlanner(seed: seed)).replan(after, current: before, absent: absent, days: days)

        var check = after
        check.kept = []
        let broken = CounsellingChecker.violations(of: replan.sessions, in: check)
        #expect(broken.isEmpty, "seed \(seed): \(broken.prefix(3))")
        #expect(!replan.sessions.contains { $0.counsellorID == absent && days.contains($0.date) })

        // The changes are exactly the sessions whose slot changed or that are gone.
        let now = Dictionary(uniqueKeysWithValues: replan.sessions.filter { !$0.id.isEmpty }.map { ($0.id, $0) })
        let changed = before.filter { old in
            guard let new = now[old.id] else { return true }
            return (new.counsellorID, new.date, new.start) != (old.counsellorID, old.date, old.start)
        }
        #expect(Set(replan.changes.map(\.before.id)) == Set(changed.map(\.id)), "seed \(seed)")
        let affected = Set(before.filter { $0.counsellorID == absent && days.contains($0.date) }.map(\.id))
        if !replan.movedOthers {
            // Nothing outside the absence moved.
            #expect(changed.allSatisfy { affected.contains($0.id) }, "seed \(seed)")
        }
        // Never fewer sessions than keeping everyone else fixed would give.
        #expect(replan.sessions.count >= before.count - affected.count)
    }
}
