import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

/// What a coordinator waits for: a random site (`CounsellingInstance.random`) imported into a
/// real `sosched-server` on SQLite through `ImportCounselling`, then `PlanWeek` through the
/// server, streamed, as a dry run and as a save; the time from sending the call to the plan's
/// arrival, with the plan's placed sessions, demand, bound and continuity rate.
struct CounsellingServerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counselling-server",
        abstract: "Time a week's counsellor planning end to end through a real server.",
        discussion: "Example:\n  sosched-bench counselling-server --server .build/release/sosched-server --people 1000 --counsellors 100")

    @Option(help: "The sosched-server binary to start.") var server: String
    @Option(help: "Young people (1-3 sessions each).") var people = 1_000
    @Option(help: "Counsellors.") var counsellors = 100
    @Option(help: "Homes.") var homes = 3
    @Option(help: "The random site's seed.") var seed: UInt64 = 7
    @Option(help: "The search's budget in milliseconds (PlanWeek's time_budget_ms).") var budgetMs: UInt32 = 1000

    /// A week well in the future, so no day of it is past.
    static let week = "2030-W02"

    func run() async throws {
        guard let monday = CivilDate(isoWeek: Self.week) else { return }
        let problem = CounsellingInstance.random(seed: seed, people: people, counsellors: counsellors, homes: homes, monday: monday)
        try await BenchServer.with(server: server, name: "counselling", rows: []) { running in
            let client = running.client
            let slow = CallOptions(timeout: .seconds(300))
            _ = try await client.call(
                RPC.NurseryService.createSite, CreateSiteRequest(site: SiteMessage(id: "bench", name: "Bench", timeZone: "Asia/Almaty")),
                options: .mutation())
            let homeIDs = Set(problem.youngPeople.map(\.homeID)).sorted()
            let request = ImportCounsellingRequest(
                siteID: "bench", homes: homeIDs.map { HomeMessage(id: $0, name: $0) },
                youngPeople: problem.youngPeople.map { person in
                    YoungPersonMessage(
                        id: person.id, homeID: person.homeID, name: person.id, availability: person.availability.windows.map(\.description),
                        sessionsPerWeek: UInt32(person.sessionsPerWeek), minutesPerSession: UInt32(person.minutesPerSession),
                        preferredCounsellorID: person.preferredCounsellorID ?? "", requiredQualifications: person.requiredQualifications.sorted())
                },
                counsellors: problem.counsellors.map { counsellor in
                    CounsellorMessage(
                        id: counsellor.id, name: counsellor.id, availability: counsellor.availability.windows.map(\.description),
                        qualifications: counsellor.qualifications.sorted(), maxSessionsPerWeek: UInt32(counsellor.maxSessionsPerWeek),
                        maxMinutesPerDay: UInt32(counsellor.maxMinutesPerDay))
                })
            let importStart = ContinuousClock.now
            _ = try await client.call(RPC.CounsellingService.importCounselling, request, options: CallOptions(timeout: .seconds(300), idempotencyKey: "bench"))
            let importTime = IntakeBench.milliseconds(ContinuousClock.now - importStart)
            let parameters: [String: Any] = ["people": people, "counsellors": counsellors, "homes": homes, "seed": seed, "budget_ms": budgetMs]
            try emit(parameters.merging(["name": "counselling_server_import", "value": (importTime * 10).rounded() / 10, "unit": "ms"]) { a, _ in a })
            for dryRun in [true, false] {
                let start = ContinuousClock.now
                var firstProgress: Double?
                var progressMessages = 0
                var plan: WeekPlanResultMessage?
                var options = slow
                options.idempotencyKey = dryRun ? nil : "bench-save"
                for try await message in try await client.stream(
                    RPC.CounsellingService.planWeek, PlanWeekRequest(siteID: "bench", week: Self.week, dryRun: dryRun, timeBudgetMs: budgetMs), options: options
                ) {
                    if message.progress != nil {
                        progressMessages += 1
                        if firstProgress == nil { firstProgress = IntakeBench.milliseconds(ContinuousClock.now - start) }
                    }
                    if let result = message.plan { plan = result }
                }
                let total = IntakeBench.milliseconds(ContinuousClock.now - start)
                guard let plan, let score = plan.score else { throw ValidationError("no plan came back") }
                let rate = plan.continuityPossible == 0 ? 1.0 : (Double(score.continuity) / Double(plan.continuityPossible) * 1000).rounded() / 1000
                try emit(
                    parameters.merging([
                        "name": "counselling_server_plan_week", "value": total.rounded() / 1000, "unit": "s", "dry_run": dryRun,
                        "placed": score.placed, "demand": plan.demand, "bound": plan.upperBound, "gap": Int(plan.upperBound) - Int(score.placed),
                        "continuity_rate": rate, "visits": score.visits, "server_ms": plan.elapsedMs, "progress_messages": progressMessages,
                        "first_progress_ms": ((firstProgress ?? 0) * 10).rounded() / 10,
                    ]) { a, _ in a })
            }
            try emit(parameters.merging(["name": "counselling_server_memory", "value": try running.residentMegabytes(), "unit": "MiB"]) { a, _ in a })
        }
    }
}
