import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// Server memory with a large store (quality.md: < 150 MB resident with 1 million placements):
/// writes a SQLite store of that size directly (the export/import row path), starts a real
/// `sosched-server` on it, reads every nursery's occupancy (which loads every group's ledger
/// through the cache), and reports the server's resident memory from /proc.
struct MemoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Resident memory of a sosched-server holding many placements.",
        discussion: "Example:\n  sosched-bench memory --server .build/release/sosched-server --placements 1000000")

    @Option(help: "The sosched-server binary to start.") var server: String
    @Option(help: "Placements in the store (one child each).") var placements = 1_000_000
    @Option(help: "Groups they are spread over (five to a nursery, two sites).") var groups = 500

    func run() async throws {
        let nurseries = max(1, groups / 5)
        let rows = try Self.rows(placements: placements, groups: groups, nurseries: nurseries)
        try await BenchServer.with(server: server, name: "memory", rows: rows) { try await measure($0, nurseries: nurseries) }
    }

    func measure(_ running: BenchServer, nurseries: Int) async throws {
        let client = running.client
        let started = try running.residentMegabytes()
        let begin = ContinuousClock.now
        for index in 0..<nurseries {
            let _: GetOccupancyResponse = try await client.call(
                RPC.NurseryService.getOccupancy, GetOccupancyRequest(nurseryID: "n\(index)", fromDay: "2027-03-01", toDay: "2027-03-05"),
                options: CallOptions(timeout: .seconds(120)))
        }
        let warmed = ContinuousClock.now - begin
        let loaded = try running.residentMegabytes()
        let seconds = Double(warmed.components.seconds) + Double(warmed.components.attoseconds) / 1e18
        try emit(["name": "server_memory", "value": started, "unit": "MB", "placements": placements, "groups": groups, "phase": "started"])
        try emit([
            "name": "server_memory", "value": loaded, "unit": "MB", "placements": placements, "groups": groups,
            "phase": "after every nursery's occupancy", "warm_seconds": (seconds * 10).rounded() / 10,
        ])
    }

    /// Two sites, `nurseries` nurseries, `groups` groups, a family per three children, one
    /// placement a child, spread over ten years with a few common patterns.
    static func rows(placements: Int, groups: Int, nurseries: Int) throws -> [StoreDump.Row] {
        typealias Row = StoreDump.Row
        var rows: [Row] = []
        rows.reserveCapacity(placements * 2 + placements / 3 + groups + nurseries + 2)
        for site in ["almaty", "astana"] {
            rows.append(Row(table: "site", values: [.text(site), .text(site.capitalized), .text("Asia/Almaty")]))
        }
        for index in 0..<nurseries {
            rows.append(
                Row(
                    table: "nursery",
                    values: [
                        .text("n\(index)"), .text(index % 2 == 0 ? "almaty" : "astana"), .text("Nursery \(index)"), .int(0b11111), .text(""),
                        .text(SessionTimes.morning.description), .text(SessionTimes.afternoon.description),
                    ]))
        }
        for index in 0..<groups {
            rows.append(
                Row(
                    table: "nursery_group",
                    values: [
                        .text("g\(index)"), .text("n\(index % nurseries)"), .text("Group \(index)"), .int(0), .int(120), .int(100_000), .int(0), .int(0),
                        .int(0),
                    ]))
        }
        let families = (placements + 2) / 3
        for index in 0..<families {
            rows.append(
                Row(
                    table: "family",
                    values: [
                        .text("f\(index)"), .text(index % 2 == 0 ? "almaty" : "astana"), .text(index % 4 == 0 ? "sos" : "local"), .bool(false), .bool(true),
                        .text(""),
                    ]))
        }
        let patterns = try ["mon-fri:full", "mon-fri:am", "mon,wed:am", "tue-thu:pm", "mon-fri:pm"].map { Int(try WeeklyPattern(parsing: $0).bits) }
        guard let start = CivilDate(parsing: "2022-01-03")?.dayNumber, let birth = CivilDate(parsing: "2021-06-01")?.dayNumber else {
            throw ValidationError("bad date")
        }
        var random = SystemRandomNumberGenerator()
        for index in 0..<placements {
            // Children of a family go to its site's nurseries: group g with nursery g % nurseries, site by the nursery's parity.
            let family = index / 3
            var group = Int.random(in: 0..<groups, using: &random)
            if (group % nurseries) % 2 != family % 2 { group = (group + 1) % groups }
            rows.append(Row(table: "child", values: [.text("c\(index)"), .text("f\(family)"), .text("Child \(index)"), .int(Int64(birth)), .bool(false)]))
            let first = start + Int.random(in: 0..<3650, using: &random)
            let last: StoreDump.Value = index % 5 == 0 ? .null : .int(Int64(first + Int.random(in: 30..<700, using: &random)))
            rows.append(
                Row(
                    table: "placement",
                    values: [
                        .text("p\(index)"), .text("c\(index)"), .text("g\(group)"), .text("n\(group % nurseries)"), .text(family % 4 == 0 ? "sos" : "local"),
                        .int(Int64(first)), last, .int(Int64(patterns[index % patterns.count])), .text("active"),
                    ]))
        }
        // Rows go in table order (the import checks references table by table).
        let order = StoreDump.tables.map(\.name)
        return rows.sorted { (order.firstIndex(of: $0.table) ?? 0) < (order.firstIndex(of: $1.table) ?? 0) }
    }
}
