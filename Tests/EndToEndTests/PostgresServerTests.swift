import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

/// Real `sosched-server` processes on the test run's PostgreSQL server.
@Suite(.timeLimit(.minutes(3)))
struct PostgresServerTests {

    func serverArguments(_ location: PostgresLocation) -> [String] {
        ["--listen", "127.0.0.1:0", "--store", location.description, "--store-connections", "8"]
    }

    @Test func twoServersOnOneDatabaseNeverOverbook() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (location, password) = try await TestPostgres.database(for: directory)
        // Seeded, then closed: the servers race on the data.
        let (children, admin) = try await TestPostgres.withStore(for: directory) { store in
            let fixture = try await NurseryFixture.seed(store, capacity: 10, children: 0)
            // Five places taken, five left.
            for index in 0..<5 {
                _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "held \(index)"), first: "2030-09-03")
            }
            var children: [Child] = []
            for index in 0..<50 { children.append(try await fixture.newAlmatyChild(store, name: "racer \(index)")) }
            guard
                case .applied(let admin, _) = try await store.createToken(
                    role: .admin, scope: nil, name: "race", context: MutationContext(actor: nil, method: "test"), reply: { _ in [] })
            else { throw TestFailure("token not made") }
            return (children, admin)
        }

        let environment = ["SOSCHED_PG_PASSWORD": password ?? ""]
        let servers = [
            try await SpawnedServer.start(directory: directory, arguments: serverArguments(location), environment: environment),
            try await SpawnedServer.start(directory: directory, arguments: serverArguments(location), environment: environment),
        ]
        #expect(servers[0].port != servers[1].port)
        // Half the clients on each server; everyone connected before the race starts.
        let clients = (0..<50).map { index in
            SchedulerClient(address: .tcp(host: "127.0.0.1", port: servers[index % 2].port), token: admin.secret)
        }
        for client in clients { _ = try await client.health() }
        let codes = try await withThrowingTaskGroup(of: StatusCode.self) { group in
            for (client, child) in zip(clients, children) {
                group.addTask {
                    do {
                        let _: PlacementMessage = try await client.call(
                            RPC.NurseryService.bookPlace,
                            BookPlaceRequest(childID: child.id, groupID: NurseryFixture.almatyGroup, firstDay: "2030-09-03", pattern: "mon-fri:full"),
                            options: .mutation())
                        return .ok
                    } catch let error as RPCError {
                        return error.code
                    }
                }
            }
            return try await group.reduce(into: [StatusCode]()) { $0.append($1) }
        }
        for client in clients { await client.close() }
        for server in servers { #expect(try await server.stop() == 0) }
        #expect(codes.filter { $0 == .ok }.count == 5)
        #expect(codes.filter { $0 == .resourceExhausted }.count == 45)

        // The database agrees, read by a store whose cache never saw the race.
        try await TestPostgres.withStore(for: directory) { fresh in
            let placements = try await fresh.listPlacements(PlacementFilter(groupID: NurseryFixture.almatyGroup), after: nil, limit: 1000).items
            #expect(placements.count == 10)
            let occupancy = try await fresh.occupancy(nurseryID: "almaty-1", from: CivilDate(parsing: "2030-09-03")!, to: CivilDate(parsing: "2030-10-02")!)
            #expect(occupancy.allSatisfy { day in day.sessions.allSatisfy { $0.occupancy.taken <= 10 } })
            #expect(occupancy.first?.sessions.first?.occupancy.taken == 10)
        }
    }

    @Test func aBookingOnOneServerIsSeenByTheOtherAtOnce() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (location, password) = try await TestPostgres.database(for: directory)
        let (fixture, admin) = try await TestPostgres.withStore(for: directory) { store in
            let fixture = try await NurseryFixture.seed(store, capacity: 1, children: 2)
            guard
                case .applied(let admin, _) = try await store.createToken(
                    role: .admin, scope: nil, name: "two", context: MutationContext(actor: nil, method: "test"), reply: { _ in [] })
            else { throw TestFailure("token not made") }
            return (fixture, admin)
        }
        let environment = ["SOSCHED_PG_PASSWORD": password ?? ""]
        let first = try await SpawnedServer.start(directory: directory, arguments: serverArguments(location), environment: environment)
        let second = try await SpawnedServer.start(directory: directory, arguments: serverArguments(location), environment: environment)
        let health = try await runProcess(try Binaries.url("sosched"), ["health", "--server", first.address, "--json"])
        #expect(health.stdout.contains("\"postgres\""), "\(health.stdout)")
        let a = SchedulerClient(address: .tcp(host: "127.0.0.1", port: first.port), token: admin.secret)
        let b = SchedulerClient(address: .tcp(host: "127.0.0.1", port: second.port), token: admin.secret)
        // Both servers have the group's ledger cached before anything is booked.
        for client in [a, b] {
            let _: GetOccupancyResponse = try await client.call(
                RPC.NurseryService.getOccupancy, GetOccupancyRequest(nurseryID: "almaty-1", fromDay: "2030-09-03", toDay: "2030-09-07"))
        }
        let booking = BookPlaceRequest(
            childID: fixture.almatyChildren[0].id, groupID: NurseryFixture.almatyGroup, firstDay: "2030-09-03", pattern: "mon-fri:am")
        let _: PlacementMessage = try await a.call(RPC.NurseryService.bookPlace, booking, options: .mutation())
        // The other server's cached ledger is stale now: it must not give the one place again.
        var otherBooking = booking
        otherBooking.childID = fixture.almatyChildren[1].id
        await #expect(
            performing: {
                let _: PlacementMessage = try await b.call(RPC.NurseryService.bookPlace, otherBooking, options: .mutation())
            }, throws: { ($0 as? RPCError)?.code == .resourceExhausted })
        let seen: GetOccupancyResponse = try await b.call(
            RPC.NurseryService.getOccupancy, GetOccupancyRequest(nurseryID: "almaty-1", fromDay: "2030-09-03", toDay: "2030-09-03"))
        #expect(seen.days.first?.sessions.first { $0.groupID == NurseryFixture.almatyGroup && $0.session == .morning }?.free == 0)
        // An idempotency key used on one server replays on the other.
        let options = CallOptions.mutation()
        let created: FamilyMessage = try await a.call(
            RPC.NurseryService.registerFamily, RegisterFamilyRequest(family: FamilyMessage(siteID: "almaty", kind: .sos)), options: options)
        let replayed: FamilyMessage = try await b.call(
            RPC.NurseryService.registerFamily, RegisterFamilyRequest(family: FamilyMessage(siteID: "almaty", kind: .sos)), options: options)
        #expect(created.id == replayed.id)
        await a.close()
        await b.close()
        _ = try await first.stop()
        _ = try await second.stop()
    }

    @Test func exportFromSQLiteAndImportIntoPostgresMovesEverything() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        let server = try Binaries.url("sosched-server")
        let token = try await SpawnedServer.adminToken(data: data, binary: server)
        let demo = try await runProcess(server, ["demo", "--data", data.path])
        #expect(demo.status == 0, "\(demo.stderr)")

        let dump = work.appendingPathComponent("sosched.dump").path
        let exported = try await runProcess(server, ["export", "--data", data.path, "--output", dump])
        #expect(exported.status == 0, "\(exported.stderr)")
        let (location, password) = try await TestPostgres.database(for: work)
        let environment = ["SOSCHED_PG_PASSWORD": password ?? ""]
        let imported = try await runProcess(server, ["import", "--store", location.description, "--input", dump], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        // A second import is refused: the store is no longer empty, and nothing changes.
        let again = try await runProcess(server, ["import", "--store", location.description, "--input", dump], environment: environment)
        #expect(again.status != 0)
        #expect(again.stderr.contains("empty store"))

        // Row for row the same data.
        let sqlite = try SQLiteStore(directory: data)
        try await TestPostgres.withStore(for: work) { postgres in
            #expect(try await rows(of: sqlite) == rows(of: postgres))
            #expect(try await rows(of: sqlite).count > 300)
            let from = CivilDate(parsing: "2030-09-03")!, to = CivilDate(parsing: "2031-01-02")!
            for nursery in try await sqlite.listNurseries(siteID: nil, after: nil, limit: 100).items {
                #expect(try await sqlite.occupancy(nurseryID: nursery.id, from: from, to: to) == postgres.occupancy(nurseryID: nursery.id, from: from, to: to))
            }
        }
        try await sqlite.close()

        // The old token works on a server running on the imported data.
        let spawned = try await SpawnedServer.start(directory: work, arguments: serverArguments(location), environment: environment)
        let whoami = try await runProcess(
            try Binaries.url("sosched"), ["whoami", "--server", spawned.address, "--json"], environment: ["SOSCHED_TOKEN": token])
        #expect(whoami.status == 0, "\(whoami.stderr)")
        #expect(whoami.stdout.contains("\"admin\""))
        _ = try await spawned.stop()
    }

    @Test func storeOptionsAreCheckedAndErrorsSayWhatToDo() async throws {
        let server = try Binaries.url("sosched-server")
        let withPassword = try await runProcess(server, ["serve", "--store", "postgres://sosched:secret@127.0.0.1:5432/sosched"])
        #expect(withPassword.status != 0)
        #expect(withPassword.stderr.contains("SOSCHED_PG_PASSWORD"))
        #expect(!withPassword.stderr.contains("secret@"))
        let otherScheme = try await runProcess(server, ["migrate", "--store", "mysql://sosched@127.0.0.1/sosched"])
        #expect(otherScheme.status != 0)
        #expect(otherScheme.stderr.contains("postgres://USER@HOST:PORT/DATABASE"))

        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let (location, password) = try await TestPostgres.database(for: work)
        let wrong = try await runProcess(server, ["migrate", "--store", location.description], environment: ["SOSCHED_PG_PASSWORD": "wrong"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("cannot open the PostgreSQL store at \(location.description)"), "\(wrong.stderr)")
        let passwordFile = work.appendingPathComponent("pgpass").path
        try Data(((password ?? "") + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        let migrated = try await runProcess(server, ["migrate", "--store", location.description, "--store-password-file", passwordFile])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("v1-access, v2-nursery, v3-intake"))
    }

    func rows(of store: some StoreTransfer) async throws -> [StoreDump.Row] {
        let collected = RowBox()
        try await store.exportRows { collected.append($0) }
        return collected.rows
    }
}

final class RowBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [StoreDump.Row] = []
    func append(_ row: StoreDump.Row) { lock.withLock { stored.append(row) } }
    var rows: [StoreDump.Row] { lock.withLock { stored } }
}
