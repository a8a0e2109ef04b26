import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// What a manager waits for on a large intake round through a real server (issue: reads of a
/// stored round cost what reading its rows costs): writes a SQLite store with a round of N
/// children ranking `choices` of `offers` offers directly (the export/import row path), starts a
/// real `sosched-server` on it, and times RunRound (dry run, then the real run that stores it),
/// a GetResults page, GetWaitlist of the most popular offer, and Explain, each from the client;
/// then the server's resident memory after the run and after the reads.
struct IntakeServerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake-server",
        abstract: "Time an intake round's run and reads through a real server.",
        discussion: "Example:\n  sosched-bench intake-server --server .build/release/sosched-server --children 100000")

    @Option(help: "The sosched-server binary to start.") var server: String
    @Option(help: "Children applying.") var children = 100_000
    @Option(help: "Offers open in the round (one group each, five groups to a nursery).") var offers = 1_000
    @Option(help: "Offers each child ranks.") var choices = 5
    @Option(help: "Timed calls of each read; the median is reported.") var repeats = 9

    func run() async throws {
        let perOffer = max(1, children * 7 / 10 / offers)
        let rows = try Self.rows(children: children, offers: offers, choices: choices, places: perOffer)
        try await BenchServer.with(server: server, name: "intake", rows: rows) { try await measure($0, perOffer: perOffer) }
    }

    func measure(_ running: BenchServer, perOffer: Int) async throws {
        let client = running.client
        let slow = CallOptions(timeout: .seconds(300))
        let parameters: [String: Any] = ["children": children, "offers": offers, "choices": choices, "places": perOffer * offers]

        let started = try running.residentMegabytes()
        let (dryTime, _): (Double, RunRoundResponse) = try await Self.timed {
            try await client.call(RPC.IntakeService.runRound, RunRoundRequest(roundID: "big", dryRun: true), options: slow)
        }
        let (runTime, ran): (Double, RunRoundResponse) = try await Self.timed {
            try await client.call(
                RPC.IntakeService.runRound, RunRoundRequest(roundID: "big", closeEarly: true),
                options: CallOptions(timeout: .seconds(300), idempotencyKey: "bench-run"))
        }
        let afterRun = try running.residentMegabytes()
        try emit(parameters.merging(["name": "intake_server_run_round", "value": Self.round(dryTime), "unit": "ms", "dry_run": true]) { a, _ in a })
        try emit(
            parameters.merging(["name": "intake_server_run_round", "value": Self.round(runTime), "unit": "ms", "dry_run": false, "placed": ran.placed]) {
                a, _ in a
            })

        // Reads of the stored round, each the median of `repeats` calls.
        let page: [Double] = try await Self.repeated(repeats) {
            let _: GetResultsResponse = try await client.call(
                RPC.IntakeService.getResults, GetResultsRequest(roundID: "big", pageSize: 500, pageToken: "c05"), options: slow)
        }
        let waitlist: [Double] = try await Self.repeated(repeats) {
            let _: GetWaitlistResponse = try await client.call(
                RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "big", offerID: "o0000"), options: slow)
        }
        let explain: [Double] = try await Self.repeated(repeats) {
            let _: ExplainResponse = try await client.call(
                RPC.IntakeService.explain, ExplainRequest(roundID: "big", childID: "c000007", offerID: "o0000"), options: slow)
        }
        let waiting: GetWaitlistResponse = try await client.call(
            RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "big", offerID: "o0000"), options: slow)
        let afterReads = try running.residentMegabytes()
        for (name, times, extra) in [
            ("intake_server_results_page", page, ["page_size": 500] as [String: Any]), ("intake_server_waitlist", waitlist, ["waiting": waiting.entries.count]),
            ("intake_server_explain", explain, [:]),
        ] {
            let sorted = times.sorted()
            try emit(
                parameters.merging(extra) { a, _ in a }.merging([
                    "name": name, "value": Self.round(sorted[sorted.count / 2]), "unit": "ms", "repeats": sorted.count, "min": Self.round(sorted[0]),
                    "max": Self.round(sorted[sorted.count - 1]),
                ]) { a, _ in a })
        }
        for (phase, value) in [("started", started), ("after the run", afterRun), ("after the reads", afterReads)] {
            try emit(parameters.merging(["name": "intake_server_memory", "value": value, "unit": "MB", "phase": phase]) { a, _ in a })
        }
    }

    static func round(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    static func timed<T>(_ body: () async throws -> T) async throws -> (Double, T) {
        let start = ContinuousClock.now
        let value = try await body()
        return (IntakeBench.milliseconds(ContinuousClock.now - start), value)
    }

    static func repeated(_ count: Int, _ body: () async throws -> Void) async throws -> [Double] {
        var times: [Double] = []
        for _ in 0..<max(1, count) { times.append(try await timed(body).0) }
        return times
    }

    /// One site, `offers / 5` nurseries of five groups, one offer a group (`places` places, a
    /// fifth kept for SOS families, a tenth for local ones), a family per two children, and each
    /// child's application ranking `choices` offers, popular offers more often.
    static func rows(children: Int, offers: Int, choices: Int, places: Int) throws -> [StoreDump.Row] {
        typealias Row = StoreDump.Row
        var rows: [Row] = [Row(table: "site", values: [.text("almaty"), .text("Almaty"), .text("Asia/Almaty")])]
        let nurseries = max(1, offers / 5)
        for index in 0..<nurseries {
            rows.append(
                Row(
                    table: "nursery",
                    values: [
                        .text(String(format: "n%04d", index)), .text("almaty"), .text("Nursery \(index)"), .int(0b11111), .text(""),
                        .text(SessionTimes.morning.description), .text(SessionTimes.afternoon.description),
                    ]))
        }
        let full = Int64(try WeeklyPattern(parsing: "mon-fri:full").bits)
        guard let first = CivilDate(parsing: "2027-09-01"), let last = CivilDate(parsing: "2028-05-31"), let born = CivilDate(parsing: "2025-03-01") else {
            throw ValidationError("bad date")
        }
        rows.append(
            Row(
                table: "intake_round",
                values: [
                    .text("big"), .text("almaty"), .text("Big round"), .int(Int64(first.dayNumber)), .int(Int64(last.dayNumber)), .int(4_102_444_800_000),
                    .int(7),
                    .text(PriorityCriterion.defaultOrder.map(\.rawValue).joined(separator: ",")), .text("open"), .int(1), .bool(false),
                ]))
        for index in 0..<offers {
            let nursery = String(format: "n%04d", index / 5)
            rows.append(
                Row(
                    table: "nursery_group",
                    values: [
                        .text(String(format: "g%04d", index)), .text(nursery), .text("Group \(index)"), .int(0), .int(120), .int(Int64(places)), .int(0),
                        .int(0), .int(0),
                    ]))
            rows.append(
                Row(
                    table: "intake_offer",
                    values: [
                        .text(String(format: "o%04d", index)), .text("big"), .text(String(format: "g%04d", index)), .text(nursery), .int(full),
                        .int(Int64(places)),
                        .int(Int64(places / 5)), .int(Int64(places / 10)),
                    ]))
        }
        var random = SplitMix64(seed: 20_261_129)
        for index in 0..<(children + 1) / 2 {
            rows.append(
                Row(
                    table: "family",
                    values: [
                        .text(String(format: "f%06d", index)), .text("almaty"), .text(random.next() % 3 == 0 ? "sos" : "local"), .bool(random.next() % 6 == 0),
                        .bool(random.next() % 2 == 0), .text(""),
                    ]))
        }
        for index in 0..<children {
            let child = String(format: "c%06d", index)
            rows.append(
                Row(
                    table: "child",
                    values: [
                        .text(child), .text(String(format: "f%06d", index / 2)), .text("Child \(index)"), .int(Int64(born.dayNumber)),
                        .bool(random.next() % 20 == 0),
                    ]))
            var ranking: [String] = []
            var seen = Set<Int>()
            while ranking.count < min(choices, offers) {
                let u = Double(random.next() >> 11) / Double(1 << 53)
                let offer = min(offers - 1, Int(Double(offers) * u * u))
                if seen.insert(offer).inserted { ranking.append(String(format: "o%04d", offer)) }
            }
            rows.append(
                Row(
                    table: "intake_application",
                    values: [
                        .text("big"), .text(child), .text(ranking.joined(separator: ",")), .int(1_780_000_000_000 + Int64(random.next() % 1_209_600_000)),
                        .null,
                    ]))
        }
        let order = StoreDump.tables.map(\.name)
        return rows.sorted { (order.firstIndex(of: $0.table) ?? 0) < (order.firstIndex(of: $1.table) ?? 0) }
    }
}
