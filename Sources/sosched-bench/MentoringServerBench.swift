import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

/// What a coordinator's script waits for: a random batch (`MentorBatchInstance.random`), its
/// young people and mentors imported into a real `sosched-server` on SQLite, then `BatchAssign`
/// through the server, streamed, as a dry run and as a save (and the save sent again, answered
/// from the store); the time from sending the call to the result, with the server's own figure
/// and the matching's share of it.
struct MentoringServerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mentoring-server",
        abstract: "Time a mentor batch end to end through a real server.",
        discussion: "Example:\n  sosched-bench mentoring-server --server .build/release/sosched-server --items 5000 --mentors 500")

    @Option(help: "The sosched-server binary to start.") var server: String
    @Option(help: "Young people in the batch.") var items = 5_000
    @Option(help: "Mentors.") var mentors = 500
    @Option(help: "The random batch's seed.") var seed: UInt64 = 7
    @Option(help: "Runs of each kind (the median is reported).") var repeats = 3

    func run() async throws {
        let batch = MentorBatchInstance.random(items: items, mentors: mentors, seed: seed)
        let site = MentorBatchInstance.siteID
        try await BenchServer.with(server: server, name: "mentoring", rows: []) { running in
            let client = running.client
            let slow = CallOptions(timeout: .seconds(300))
            _ = try await client.call(
                RPC.NurseryService.createSite, CreateSiteRequest(site: SiteMessage(id: site, name: "Bench", timeZone: "Asia/Almaty")), options: .mutation())
            // The batch's young people as records (MentorBatchInstance's own), at one home.
            let people = ImportCounsellingRequest(
                siteID: site, homes: [HomeMessage(id: "bench-home", name: "Bench home")],
                youngPeople: MentorBatchInstance.youngPeople(of: batch, homes: 1).map { person in
                    YoungPersonMessage(
                        id: person.id, homeID: "bench-home", name: person.name, availability: person.availability.windows.map(\.description),
                        awayDates: person.availability.awayDates.sorted().map(\.description), sessionsPerWeek: 1)
                })
            let mentorRequest = ImportMentorsRequest(
                siteID: site,
                mentors: batch.mentors.map { mentor in
                    MentorMessage(
                        id: mentor.id, organisation: mentor.organisation, name: mentor.name, fields: mentor.fields.sorted(), capacity: UInt32(mentor.capacity),
                        availability: mentor.availability.windows.map(\.description), sessionMinutes: UInt32(mentor.sessionMinutes))
                })
            let importStart = ContinuousClock.now
            _ = try await client.call(RPC.CounsellingService.importCounselling, people, options: CallOptions(timeout: .seconds(300), idempotencyKey: "p"))
            _ = try await client.call(RPC.MentoringService.importMentors, mentorRequest, options: CallOptions(timeout: .seconds(300), idempotencyKey: "m"))
            let importTime = IntakeBench.milliseconds(ContinuousClock.now - importStart)
            let parameters: [String: Any] = ["items": items, "mentors": mentors, "seed": seed]
            try emit(parameters.merging(["name": "mentoring_server_import", "value": (importTime * 10).rounded() / 10, "unit": "ms"]) { a, _ in a })
            let wire = batch.items.map { item in
                BatchItemMessage(
                    youngPersonID: item.youngPersonID, fields: item.fields.sorted(), sessions: UInt32(item.sessions), from: item.from.description,
                    to: item.to.description)
            }
            // Dry runs, then saves under new batch ids, then the last save sent again.
            for (kind, dryRun) in [("dry_run", true), ("save", false), ("replay", false)] {
                var times: [Double] = []
                var last: BatchAssignResultMessage?
                var progressMessages = 0
                for run in 0..<(kind == "replay" ? 1 : max(1, repeats)) {
                    let start = ContinuousClock.now
                    let batchID = kind == "replay" ? "bench-save-\(max(1, repeats) - 1)" : "bench-\(kind)-\(run)"
                    progressMessages = 0
                    for try await message in try await client.stream(
                        RPC.MentoringService.batchAssign, BatchAssignRequest(siteID: site, batchID: batchID, items: wire, dryRun: dryRun), options: slow)
                    {
                        if message.progress != nil { progressMessages += 1 }
                        if let result = message.result { last = result }
                    }
                    times.append(IntakeBench.milliseconds(ContinuousClock.now - start))
                    // Each save books its sessions: cancel them so the next run finds the same free time.
                    if kind == "save" {
                        _ = try await client.call(RPC.MentoringService.cancelBatch, CancelBatchRequest(batchID: batchID), options: .mutation())
                    }
                }
                guard let last else { throw ValidationError("no result came back") }
                times.sort()
                try emit(
                    parameters.merging([
                        "name": "mentoring_server_batch", "value": (times[times.count / 2]).rounded() / 1000, "unit": "s", "kind": kind,
                        "min_s": (times[0]).rounded() / 1000, "max_s": (times[times.count - 1]).rounded() / 1000, "server_ms": last.elapsedMs,
                        "match_ms": last.matchMs, "total_fit": last.totalFit, "kept_pairs": last.keptPairs, "items_matched": last.itemsMatched,
                        "sessions_placed": last.sessionsPlaced, "sessions_requested": last.sessionsRequested, "progress_messages": progressMessages,
                        "replayed": last.replayed,
                    ]) { a, _ in a })
            }
            try emit(parameters.merging(["name": "mentoring_server_memory", "value": try running.residentMegabytes(), "unit": "MiB"]) { a, _ in a })
        }
    }
}
