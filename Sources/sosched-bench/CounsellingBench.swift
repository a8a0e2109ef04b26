import ArgumentParser
import SchedulerCore

/// The week planner alone, in this process (issue 12: 1,000 young people x 100 counsellors in
/// < 1 s; 5,000 x 500 to show growth; 40 x 3 where the bound shows the optimum): a random site
/// (`CounsellingInstance.random`), planned with the default rounds; the median time of
/// `repeats` runs, with the plan's sessions placed, the demand, the bound and the continuity
/// rate (sessions with the continuity counsellor / sessions of young people who have one).
struct CounsellingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counselling",
        abstract: "Time a week's counsellor planning (the core planner, no server).",
        discussion: "Example:\n  sosched-bench counselling --people 1000 --counsellors 100")

    @Option(help: "Young people (1-3 sessions each).") var people = 1_000
    @Option(help: "Counsellors.") var counsellors = 100
    @Option(help: "Homes.") var homes = 3
    @Option(help: "The random site's seed.") var seed: UInt64 = 7
    @Option(help: "Local-search rounds (the planner's default unless given).") var rounds: Int?
    @Option(help: "Timed runs; the median is reported.") var repeats = 3

    func run() async throws {
        let problem = CounsellingInstance.random(seed: seed, people: people, counsellors: counsellors, homes: homes)
        let planner = rounds.map { WeekPlanner(seed: 1, rounds: $0) } ?? WeekPlanner(seed: 1)
        var times: [Double] = []
        var plan: WeekPlan?
        for _ in 0..<max(1, repeats) {
            let start = ContinuousClock.now
            plan = planner.plan(problem)
            times.append(IntakeBench.milliseconds(ContinuousClock.now - start) / 1000)
        }
        guard let plan else { return }
        times.sort()
        let withCounsellor = Set(problem.youngPeople.filter { problem.continuityCounsellor(of: $0) != nil }.map(\.id))
        let eligible = plan.sessions.filter { withCounsellor.contains($0.youngPersonID) }.count
        func rounded(_ value: Double, _ places: Double = 1000) -> Double { (value * places).rounded() / places }
        try emit([
            "name": "counselling_plan_week_core", "value": rounded(times[times.count / 2]), "unit": "s", "people": people,
            "counsellors": counsellors, "homes": homes, "seed": seed, "placed": plan.score.placed, "demand": plan.demand,
            "bound": plan.upperBound, "gap": plan.upperBound - plan.score.placed, "continuity": plan.score.continuity,
            "continuity_rate": eligible == 0 ? 1.0 : rounded(Double(plan.score.continuity) / Double(eligible)),
            "visits": plan.score.visits, "repeats": times.count, "min": rounded(times[0]), "max": rounded(times[times.count - 1]),
        ])
    }
}
