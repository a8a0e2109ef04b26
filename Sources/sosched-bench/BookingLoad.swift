import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import SchedulerClient
import SchedulerCore
import SchedulerWire

/// Durable bookings per second: N clients, each on its own connection, book placements as fast
/// as the server confirms them (each confirmed only once committed to disk).
struct BookingLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bookings",
        abstract: "Measure durable BookPlace calls per second against a running server.",
        discussion: "Example:\n  sosched-bench bookings --port 7433 --token sos_... --clients 16 --seconds 5")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port; repeat it for several servers on one store (clients are spread over them).") var port: [Int]
    @Option(help: "An admin token.") var token: String
    @Option(help: "Concurrent clients, one connection each.") var clients = 16
    @Option(help: "Seconds to measure.") var seconds: Double = 5
    @Option(help: "Children to spread the bookings over (few placements each, as in life).") var children = 2000
    @Option(help: "Benchmark name in the output.") var name = "durable_bookings"
    @Option(help: "Store kind, for the output.") var store = "sqlite"
    @Option(help: "Groups to spread the bookings over (a booking locks its group's row on PostgreSQL).") var groups = 1

    func validate() throws {
        guard !port.isEmpty else { throw ValidationError("give at least one --port") }
        guard groups > 0 else { throw ValidationError("--groups must be positive") }
    }

    func run() async throws {
        let addresses = port.map { ServerAddress.tcp(host: host, port: $0) }
        let address = addresses[0]
        let setup = SchedulerClient(address: address, token: token)
        let run = "b\(UInt32.random(in: 0...UInt32.max))"
        let _: SiteMessage = try await setup.call(
            RPC.NurseryService.createSite, CreateSiteRequest(site: SiteMessage(id: run, name: "Bench", timeZone: "UTC")), options: .mutation())
        let _: NurseryMessage = try await setup.call(
            RPC.NurseryService.createNursery, CreateNurseryRequest(nursery: NurseryMessage(id: run, siteID: run, name: "Bench")), options: .mutation())
        let groupIDs = (0..<groups).map { "\(run)-\($0)" }
        for id in groupIDs {
            let _: GroupMessage = try await setup.call(
                RPC.NurseryService.createGroup,
                CreateGroupRequest(group: GroupMessage(id: id, nurseryID: run, name: "Bench", minAgeMonths: 0, maxAgeMonths: 240, capacity: 1000)),
                options: .mutation())
        }
        let family: FamilyMessage = try await setup.call(
            RPC.NurseryService.registerFamily, RegisterFamilyRequest(family: FamilyMessage(siteID: run, kind: .local)), options: .mutation())
        var childIDs: [String] = []
        for _ in 0..<children {
            let child: ChildMessage = try await setup.call(
                RPC.NurseryService.registerChild, RegisterChildRequest(child: ChildMessage(familyID: family.id, givenName: "Bench", birthDate: "2020-01-01")),
                options: .mutation())
            childIDs.append(child.id)
        }
        await setup.close()

        // Every booking is one child on one weekday (a distinct day per child), so all fit and
        // each is a real placement the ledger has to check and hold.
        let ids = childIDs
        let monday = CivilDate(parsing: "2027-01-04")!
        // One event loop for all the clients, so the load generator leaves the server what CPU it can.
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        let started = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (Int, Int, [Duration]).self) { group in
            for worker in 0..<clients {
                group.addTask {
                    let client = SchedulerClient(address: addresses[worker % addresses.count], token: token, group: loop)
                    var done = 0, failed = 0, round = 0
                    var latencies: [Duration] = []
                    while ContinuousClock.now < deadline {
                        let index = worker + round * clients
                        round += 1
                        let child = ids[index % ids.count]
                        let day = monday.adding(days: (index / ids.count) * 7 + (index % 5))
                        let request = BookPlaceRequest(
                            childID: child, groupID: groupIDs[index % groupIDs.count], firstDay: day.description, lastDay: day.description,
                            pattern: "mon-fri:am")
                        let begin = ContinuousClock.now
                        do {
                            let _: PlacementMessage = try await client.call(RPC.NurseryService.bookPlace, request, options: .mutation())
                            done += 1
                            latencies.append(ContinuousClock.now - begin)
                        } catch {
                            failed += 1
                        }
                    }
                    await client.close()
                    return (done, failed, latencies)
                }
            }
            return try await group.reduce(into: (0, 0, [Duration]())) {
                $0.0 += $1.0
                $0.1 += $1.1
                $0.2 += $1.2
            }
        }
        let elapsed = ContinuousClock.now - started
        try await loop.shutdownGracefully()
        let secondsTaken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = results.2.sorted()
        func micros(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let d = sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
            return (Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12).rounded()
        }
        try emit([
            "name": name, "value": (Double(results.0) / secondsTaken).rounded(), "unit": "bookings/s", "clients": clients,
            "store": store, "servers": addresses.count, "groups": groups, "errors": results.1, "p50_us": micros(0.5), "p99_us": micros(0.99),
            "seconds": seconds,
        ])
    }
}

/// The capacity ledger's fit check on its own: one group holding many placements over years.
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Measure CapacityLedger fit checks per second with many placements in one group.",
        discussion: "Example:\n  sosched-bench ledger --placements 10000")

    @Option(help: "Placements in the group.") var placements = 10_000
    @Option(help: "Fit checks to time.") var checks = 200_000

    func run() async throws {
        var random = SystemRandomNumberGenerator()
        let nursery = Nursery(id: "n", siteID: "s", name: "N", closures: Set((0..<60).map { CivilDate(parsing: "2026-01-01")!.adding(days: $0 * 30) }))
        let group = Group(id: "g", nurseryID: "n", name: "G", minAgeMonths: 0, maxAgeMonths: 240, capacity: placements, reservedSOS: placements / 4)
        var ledger = CapacityLedger(group: group, nursery: nursery)
        let start = CivilDate(parsing: "2026-01-05")!
        for index in 0..<placements {
            let first = start.adding(days: Int.random(in: 0..<(5 * 365), using: &random))
            let last: CivilDate? = index % 3 == 0 ? nil : first.adding(days: Int.random(in: 30..<700, using: &random))
            ledger.add(
                PlacementSpan(
                    kind: index % 2 == 0 ? .sos : .local, first: first, last: last, pattern: WeeklyPattern(bits: UInt16.random(in: 1...0x3ff, using: &random))))
        }
        let queries = (0..<1024).map { _ in
            PlacementSpan(
                kind: Bool.random() ? .sos : .local, first: start.adding(days: Int.random(in: 0..<(5 * 365), using: &random)),
                last: nil, pattern: WeeklyPattern(bits: 0x3ff))
        }
        var fits = 0
        let began = ContinuousClock.now
        for index in 0..<checks where ledger.fits(queries[index & 1023]) { fits += 1 }
        let elapsed = ContinuousClock.now - began
        let secondsTaken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        try emit([
            "name": "ledger_fit_checks", "value": (Double(checks) / secondsTaken).rounded(), "unit": "checks/s",
            "placements": placements, "pattern": "mon-fri:full", "open_ended": true, "fitting": fits,
        ])
    }
}
