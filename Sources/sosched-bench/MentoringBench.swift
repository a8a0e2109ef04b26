import ArgumentParser
import SchedulerCore

/// A mentor batch's pure core, in this process (quality.md: 5,000 young people x 500 mentors in
/// < 0.5 s end to end through the server, so the core far below): a random batch
/// (`MentorBatchInstance.random`), matched alone (`mentoring_match_core`) and matched and
/// placed (`mentoring_batch_core`); the median of `repeats` runs each, with the plan's total
/// fit, kept pairs, pairs and sessions placed.
struct MentoringBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mentoring",
        abstract: "Time a mentor batch's matching and placement (the core, no server).",
        discussion: "Example:\n  sosched-bench mentoring --items 5000 --mentors 500")

    @Option(help: "Young people in the batch (2-6 sessions each).") var items = 5_000
    @Option(help: "Mentors.") var mentors = 500
    @Option(help: "The random batch's seed.") var seed: UInt64 = 7
    @Option(help: "Timed runs of each; the median is reported.") var repeats = 5

    func validate() throws {
        guard items >= 0, mentors >= 0, items <= MentorBatch.maxItems else {
            throw ValidationError("--items must be from 0 to \(MentorBatch.maxItems) and --mentors at least 0")
        }
    }

    func run() async throws {
        let batch = MentorBatchInstance.random(items: items, mentors: mentors, seed: seed)
        try batch.validate()
        var matchTimes: [Double] = []
        var matching: MentorMatcher.Matching?
        for _ in 0..<max(1, repeats) {
            let start = ContinuousClock.now
            matching = MentorMatcher.match(batch)
            matchTimes.append(IntakeBench.milliseconds(ContinuousClock.now - start) / 1000)
        }
        var batchTimes: [Double] = []
        var plan: MentorBatchPlan?
        for _ in 0..<max(1, repeats) {
            let start = ContinuousClock.now
            plan = MentorBatchPlanner.plan(batch)
            batchTimes.append(IntakeBench.milliseconds(ContinuousClock.now - start) / 1000)
        }
        guard let matching, let plan else { return }
        func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
        let parameters: [String: Any] = [
            "unit": "s", "items": items, "mentors": mentors, "seed": seed, "total_fit": plan.totalFit, "kept_pairs": plan.keptPairs,
            "pairs": plan.assignments.count, "sessions_asked": batch.items.reduce(0) { $0 + $1.sessions }, "sessions_placed": plan.sessions.count,
        ]
        for (name, times) in [("mentoring_match_core", matchTimes.sorted()), ("mentoring_batch_core", batchTimes.sorted())] {
            try emit(
                parameters.merging([
                    "name": name, "value": rounded(times[times.count / 2]), "repeats": times.count, "min": rounded(times[0]),
                    "max": rounded(times[times.count - 1]),
                ]) { _, new in new })
        }
        // The matching alone and the plan's matching are the same (one batch, one answer).
        guard matching.assignments == plan.assignments else { throw ValidationError("the matching and the plan's matching differ") }
    }
}
