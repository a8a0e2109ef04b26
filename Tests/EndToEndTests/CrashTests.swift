import Foundation
import SchedulerClient
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Synchronization
import Testing

/// kill -9 while clients book: every acknowledged booking survives, no refused one appears, and
/// the group is never overbooked.
@Suite(.timeLimit(.minutes(3)))
struct CrashTests {
    final class Outcomes: Sendable {
        let acknowledged = Mutex<[String: String]>([:])  // child -> placement
        let refused = Mutex<Set<String>>([])
    }

    /// On SQLite the server's file; on PostgreSQL a database of the test's own.
    @Test(arguments: ["sqlite", "postgres"])
    func acknowledgedBookingsSurviveKillNine(store: String) async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        var storeArguments = ["--data", data.path]
        var environment: [String: String] = [:]
        if store == "postgres" {
            let (location, password) = try await TestPostgres.database(for: work)
            storeArguments = ["--store", location.description]
            environment["SOSCHED_PG_PASSWORD"] = password ?? ""
        }
        let made = try await runProcess(try Binaries.url("sosched-server"), ["token", "create", "--role", "admin"] + storeArguments, environment: environment)
        let token = try #require(made.stdout.split(separator: "\n").last.map(String.init))
        let serve = ["--listen", "127.0.0.1:0"] + storeArguments
        let first = try await SpawnedServer.start(directory: data, arguments: serve, environment: environment)
        let address = ServerAddress.tcp(host: "127.0.0.1", port: first.port)
        let setup = SchedulerClient(address: address, token: token)
        let _: SiteMessage = try await setup.call(
            RPC.NurseryService.createSite, CreateSiteRequest(site: SiteMessage(id: "almaty", name: "A", timeZone: "Asia/Almaty")), options: .mutation())
        let _: NurseryMessage = try await setup.call(
            RPC.NurseryService.createNursery, CreateNurseryRequest(nursery: NurseryMessage(id: "n", siteID: "almaty", name: "N")), options: .mutation())
        let _: GroupMessage = try await setup.call(
            RPC.NurseryService.createGroup,
            CreateGroupRequest(group: GroupMessage(id: "g", nurseryID: "n", name: "G", minAgeMonths: 0, maxAgeMonths: 120, capacity: 20)),
            options: .mutation())
        let family: FamilyMessage = try await setup.call(
            RPC.NurseryService.registerFamily, RegisterFamilyRequest(family: FamilyMessage(siteID: "almaty", kind: .local)), options: .mutation())
        var children: [String] = []
        for _ in 0..<400 {
            let child: ChildMessage = try await setup.call(
                RPC.NurseryService.registerChild, RegisterChildRequest(child: ChildMessage(familyID: family.id, givenName: "C", birthDate: "2024-01-01")),
                options: .mutation())
            children.append(child.id)
        }
        await setup.close()
        let racers = children

        let outcomes = Outcomes()
        let streams = 8
        let booking = Task {
            await withTaskGroup(of: Void.self) { group in
                for stream in 0..<streams {
                    group.addTask {
                        let client = SchedulerClient(address: address, token: token)
                        for index in stride(from: stream, to: racers.count, by: streams) {
                            let child = racers[index]
                            // Some children want a whole week, some a few sessions: the group fills unevenly.
                            let pattern = index % 3 == 0 ? "mon-fri:full" : (index % 3 == 1 ? "mon,wed:am" : "tue-thu:pm")
                            do {
                                let placed: PlacementMessage = try await client.call(
                                    RPC.NurseryService.bookPlace, BookPlaceRequest(childID: child, groupID: "g", firstDay: "2030-09-03", pattern: pattern),
                                    options: CallOptions(timeout: .seconds(5), idempotencyKey: IdempotencyKey.make(), maxRetries: 0))
                                outcomes.acknowledged.withLock { $0[child] = placed.id }
                            } catch let error as RPCError where error.code == .resourceExhausted {
                                outcomes.refused.withLock { _ = $0.insert(child) }
                            } catch {
                                // In flight when the server died: it may or may not have committed.
                            }
                        }
                        await client.close()
                    }
                }
            }
        }
        // Let a good share of bookings through, then kill the server mid-stream.
        let deadline = ContinuousClock.now + .seconds(30)
        while outcomes.acknowledged.withLock({ $0.count }) < 20 || outcomes.refused.withLock({ $0.count }) < 5, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        kill(first.process.processIdentifier, SIGKILL)
        await booking.value
        _ = try? await first.stop(signal: SIGKILL)

        let acknowledged = outcomes.acknowledged.withLock { $0 }
        let refused = outcomes.refused.withLock { $0 }
        #expect(acknowledged.count >= 20)
        #expect(!refused.isEmpty)
        // The server really died mid-stream: many bookings never got an answer.
        #expect(acknowledged.count + refused.count < children.count)

        let second = try await SpawnedServer.start(directory: data, arguments: serve, environment: environment)
        let reader = SchedulerClient(address: .tcp(host: "127.0.0.1", port: second.port), token: token)
        var stored: [PlacementMessage] = []
        var page = ""
        repeat {
            let response: ListPlacementsResponse = try await reader.call(
                RPC.NurseryService.listPlacements, ListPlacementsRequest(groupID: "g", pageSize: 1000, pageToken: page))
            stored += response.placements
            page = response.nextPageToken
        } while !page.isEmpty
        let storedIDs = Set(stored.map(\.id))
        for (child, placement) in acknowledged {
            #expect(storedIDs.contains(placement), "acknowledged booking of \(child) lost")
        }
        let storedChildren = Set(stored.map(\.childID))
        #expect(storedChildren.isDisjoint(with: refused), "a refused booking was stored")
        let occupancy: GetOccupancyResponse = try await reader.call(
            RPC.NurseryService.getOccupancy, GetOccupancyRequest(nurseryID: "n", fromDay: "2030-09-03", toDay: "2030-09-09"))
        for day in occupancy.days {
            for session in day.sessions { #expect(session.sos + session.local <= 20) }
        }
        await reader.close()
        #expect(try await second.stop() == 0)
    }
}
