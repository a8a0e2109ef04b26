extension WeekPlanner {
    /// Places what `current` lacks with the least change: the sessions of `current` (a plan that
    /// keeps every rule, besides `problem.kept`) start where they are, and only ejection chains
    /// run, which move a session only to make room for one more. Sessions of `current` that no
    /// longer fit (their counsellor is away, say) are left out first. The result lists every
    /// session (with empty ids; `CounsellingSession.reusingIDs` gives them back).
    public func repair(_ problem: WeekPlanningProblem, from current: [CounsellingSession], isCancelled: () -> Bool = { false }) -> WeekPlan {
        var engine = PlanEngine(problem)
        let people = Dictionary(uniqueKeysWithValues: engine.people.enumerated().map { ($1.id, $0) })
        let counsellors = Dictionary(uniqueKeysWithValues: engine.counsellors.enumerated().map { ($1.id, $0) })
        for session in current.sorted(by: { ($0.date, $0.start, $0.id) < ($1.date, $1.start, $1.id) }) where session.status != .cancelled {
            let day = session.date.dayNumber - problem.monday.dayNumber
            guard let p = people[session.youngPersonID], let c = counsellors[session.counsellorID], (0..<7).contains(day),
                engine.placedOf[p].count < engine.demand[p],
                let pair = engine.pairs[p].first(where: { $0.counsellor == c && $0.day == day }),
                pair.windows.contains(where: { $0.start <= session.start && session.start + session.minutes <= $0.end }),
                engine.fits(person: p, counsellor: c, day: day, start: session.start)
            else { continue }
            _ = engine.add(PlanEngine.Placement(person: p, counsellor: c, day: day, start: session.start))
        }
        var random = SplitMix64(seed: seed)
        for _ in 0..<rounds where !isCancelled() {
            guard engine.placeMissing(&random, ejecting: true, stop: isCancelled) else { break }
        }
        return engine.result()
    }
}

extension PlanEngine {
    /// Whether one session of `p` with `c` on `day` at `start` breaks no rule as things stand.
    func fits(person p: Int, counsellor c: Int, day: Int, start: Int) -> Bool {
        hasRoom(person: p, counsellor: c, day: day) && clash(c, day, start: start, end: start + length[p], home: home[p]) == nil
    }
}
