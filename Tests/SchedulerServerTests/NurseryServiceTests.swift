import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

func rpcCode(_ error: any Error) -> StatusCode? { (error as? RPCError)?.code }

@Suite(.timeLimit(.minutes(3)))
struct NurseryServiceTests {
    /// The server's clock in these tests: 08:00 on Tuesday 1 September 2026 in Almaty, the first
    /// day of the term they book (bookings from today on need no correction).
    static let september1 = Date(timeIntervalSince1970: 1_788_231_600)
    @Test func aManagerOfAlmatyCannotReadOrBookAstana() async throws {
        try await TestServer.with(now: { Self.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let almaty = server.client(token: try await server.makeToken(role: .manager, scope: Scope(kind: .site, id: "almaty")))
            // Almaty works.
            let booked: PlacementMessage = try await almaty.call(
                RPC.NurseryService.bookPlace,
                BookPlaceRequest(childID: fixture.almatyChildren[0].id, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", pattern: "mon-fri:full"),
                options: .mutation())
            #expect(booked.state == .active)
            // Astana does not, whichever way in.
            let calls: [(String, any WireMessage)] = [
                (RPC.NurseryService.getSite.path, GetSiteRequest(id: "astana")),
                (RPC.NurseryService.getNursery.path, GetNurseryRequest(id: "astana-1")),
                (RPC.NurseryService.listGroups.path, ListGroupsRequest(nurseryID: "astana-1")),
                (RPC.NurseryService.getFamily.path, GetFamilyRequest(id: fixture.astanaFamily.id)),
                (RPC.NurseryService.getChild.path, GetChildRequest(id: fixture.astanaChildren[0].id)),
                (RPC.NurseryService.listChildren.path, ListChildrenRequest(siteID: "astana")),
                (RPC.NurseryService.listPlacements.path, ListPlacementsRequest(nurseryID: "astana-1")),
                (RPC.NurseryService.getOccupancy.path, GetOccupancyRequest(nurseryID: "astana-1", fromDay: "2026-09-01", toDay: "2026-09-07")),
                (
                    RPC.NurseryService.bookPlace.path,
                    BookPlaceRequest(childID: fixture.astanaChildren[0].id, groupID: NurseryFixture.astanaGroup, firstDay: "2026-09-01", pattern: "mon:am")
                ),
                // An Astana child into an Almaty group, and an Almaty child into an Astana group.
                (
                    RPC.NurseryService.bookPlace.path,
                    BookPlaceRequest(childID: fixture.astanaChildren[1].id, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", pattern: "mon:am")
                ),
                (
                    RPC.NurseryService.bookPlace.path,
                    BookPlaceRequest(childID: fixture.almatyChildren[1].id, groupID: NurseryFixture.astanaGroup, firstDay: "2026-09-01", pattern: "mon:am")
                ),
                (
                    RPC.NurseryService.updateGroup.path,
                    UpdateGroupRequest(group: GroupMessage(id: NurseryFixture.astanaGroup, capacity: 99), updateMask: ["capacity"])
                ),
            ]
            for (method, request) in calls {
                let payload = try WireCodec.encode(request)
                await #expect(
                    performing: {
                        _ = try await almaty.call(method: method, payload: payload, options: .mutation())
                    }, throws: { rpcCode($0) == .permissionDenied })
            }
            let listed: ListSitesResponse = try await almaty.call(RPC.NurseryService.listSites, ListSitesRequest())
            #expect(listed.sites.map(\.id) == ["almaty"])
            let astanaPlacements = try await server.store.listPlacements(PlacementFilter(nurseryID: "astana-1"), after: nil, limit: 10)
            #expect(astanaPlacements.items.isEmpty)
            await almaty.close()
        }
    }

    @Test func aNurseryManagerSeesItsNurseryAndItsSitesFamilies() async throws {
        try await TestServer.with(now: { Self.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let manager = server.client(token: try await server.makeToken(role: .manager, scope: Scope(kind: .nursery, id: "almaty-1")))
            let family: FamilyMessage = try await manager.call(RPC.NurseryService.getFamily, GetFamilyRequest(id: fixture.almatyFamily.id))
            #expect(family.kind == .local)
            await #expect(
                performing: {
                    let _: NurseryMessage = try await manager.call(
                        RPC.NurseryService.createNursery, CreateNurseryRequest(nursery: NurseryMessage(id: "almaty-2", siteID: "almaty", name: "Second")),
                        options: .mutation())
                }, throws: { rpcCode($0) == .permissionDenied })
            await manager.close()
        }
    }

    @Test func aFullGroupAnswersWithConflictsAndAlternatives() async throws {
        try await TestServer.with(now: { Self.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store, capacity: 1)
            _ = try await fixture.place(server.store, child: fixture.almatyChildren[0], first: "2026-09-01", last: "2026-09-30")
            _ = try await server.store.createGroup(
                Group(id: "almaty-seniors", nurseryID: "almaty-1", name: "Seniors", minAgeMonths: 0, maxAgeMonths: 120, capacity: 3),
                context: MutationContext(actor: nil, method: "test")
            ) { _ in [] }
            let client = server.client(token: server.adminToken)
            let request = BookPlaceRequest(
                childID: fixture.almatyChildren[1].id, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-14", pattern: "mon-fri:full")
            do {
                let _: PlacementMessage = try await client.call(RPC.NurseryService.bookPlace, request, options: .mutation())
                Issue.record("the booking should not fit")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted)
                #expect(error.status.message.contains("2026-09-14"))
                let detail = try #require(try error.status.details.first?.decode(as: BookingConflictMessage.self))
                #expect(detail.conflicts.first?.date == "2026-09-14")
                #expect(detail.conflicts.first?.reason == .full)
                #expect(detail.alternatives.contains { $0.kind == .laterStart && $0.firstDay == "2026-10-01" && $0.groupID == NurseryFixture.almatyGroup })
                #expect(detail.alternatives.contains { $0.kind == .otherGroup && $0.groupID == "almaty-seniors" })
            }
            // Nothing was written for the refusal.
            #expect(try await server.store.listPlacements(PlacementFilter(childID: fixture.almatyChildren[1].id), after: nil, limit: 10).items.isEmpty)
            await client.close()
        }
    }

    @Test func bookEndCancelAndOccupancyThroughTheServer() async throws {
        try await TestServer.with(now: { Self.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store, capacity: 2)
            let client = server.client(token: server.adminToken)
            let first: PlacementMessage = try await client.call(
                RPC.NurseryService.bookPlace,
                BookPlaceRequest(childID: fixture.almatyChildren[0].id, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", pattern: "mon-fri:am"),
                options: .mutation())
            #expect(first.pattern == "mon-fri:am")
            #expect(first.familyKind == .local)
            #expect(first.lastDay == "")
            // The same child cannot hold two places in the same session.
            await #expect(
                performing: {
                    let _: PlacementMessage = try await client.call(
                        RPC.NurseryService.bookPlace,
                        BookPlaceRequest(childID: fixture.almatyChildren[0].id, groupID: NurseryFixture.almatyGroup, firstDay: "2026-10-01", pattern: "mon:am"),
                        options: .mutation())
                }, throws: { rpcCode($0) == .failedPrecondition })

            let ended: PlacementMessage = try await client.call(
                RPC.NurseryService.endPlacement, EndPlacementRequest(id: first.id, fromDay: "2026-09-15"), options: .mutation())
            #expect(ended.lastDay == "2026-09-14")

            let future: PlacementMessage = try await client.call(
                RPC.NurseryService.bookPlace,
                BookPlaceRequest(childID: fixture.almatyChildren[1].id, groupID: NurseryFixture.almatyGroup, firstDay: "2030-09-02", pattern: "mon:full"),
                options: .mutation())
            let cancelled: PlacementMessage = try await client.call(
                RPC.NurseryService.cancelPlacement, CancelPlacementRequest(id: future.id), options: .mutation())
            #expect(cancelled.state == .cancelled)
            // A started placement cannot be cancelled, only ended.
            await #expect(
                performing: {
                    let _: PlacementMessage = try await client.call(
                        RPC.NurseryService.cancelPlacement, CancelPlacementRequest(id: first.id), options: .mutation())
                }, throws: { rpcCode($0) == .failedPrecondition })

            let occupancy: GetOccupancyResponse = try await client.call(
                RPC.NurseryService.getOccupancy, GetOccupancyRequest(nurseryID: "almaty-1", fromDay: "2026-09-12", toDay: "2026-09-15"))
            // 12th and 13th are a weekend: the nursery is closed, so only the 14th and 15th.
            #expect(occupancy.days.map(\.date) == ["2026-09-14", "2026-09-15"])
            let monday = occupancy.days[0].sessions.first { $0.session == .morning }
            #expect(monday?.local == 1 && monday?.free == 1)
            let tuesday = occupancy.days[1].sessions.first { $0.session == .morning }
            #expect(tuesday?.local == 0 && tuesday?.free == 2)

            let listed: ListPlacementsResponse = try await client.call(
                RPC.NurseryService.listPlacements, ListPlacementsRequest(nurseryID: "almaty-1", includeCancelled: true, pageSize: 1))
            #expect(listed.placements.count == 1)
            let rest: ListPlacementsResponse = try await client.call(
                RPC.NurseryService.listPlacements, ListPlacementsRequest(nurseryID: "almaty-1", includeCancelled: true, pageToken: listed.nextPageToken))
            #expect(Set((listed.placements + rest.placements).map(\.id)) == [first.id, future.id])
            await client.close()
        }
    }

    @Test func badRequestsNameTheirField() async throws {
        try await TestServer.with(now: { Self.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let client = server.client(token: server.adminToken)
            let child = fixture.almatyChildren[0].id
            let cases: [(BookPlaceRequest, String)] = [
                (BookPlaceRequest(childID: child, groupID: NurseryFixture.almatyGroup, firstDay: "2026-02-30", pattern: "mon:am"), "first_day"),
                (
                    BookPlaceRequest(childID: child, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", lastDay: "2026-08-01", pattern: "mon:am"),
                    "last_day"
                ),
                (BookPlaceRequest(childID: child, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", pattern: "monday"), "pattern"),
                (BookPlaceRequest(childID: child, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", pattern: "sat:am"), "pattern"),
                (BookPlaceRequest(childID: child, groupID: "no-such-group", firstDay: "2026-09-01", pattern: "mon:am"), "group_id"),
                (BookPlaceRequest(childID: "", groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", pattern: "mon:am"), "child_id"),
            ]
            for (request, field) in cases {
                await #expect(
                    performing: {
                        let _: PlacementMessage = try await client.call(RPC.NurseryService.bookPlace, request, options: .mutation())
                    },
                    throws: { error in
                        let violation = (error as? RPCError)?.status.details.first.flatMap { try? $0.decode(as: BadRequest.self) }?.violations.first
                        return violation?.field == field
                    })
            }
            await #expect(
                performing: {
                    let _: SiteMessage = try await client.call(
                        RPC.NurseryService.createSite, CreateSiteRequest(site: SiteMessage(id: "x", name: "X", timeZone: "Mars/Base")), options: .mutation())
                }, throws: { rpcCode($0) == .invalidArgument })
            // Lowering capacity below what is booked is refused.
            _ = try await fixture.place(server.store, child: fixture.almatyChildren[0], first: "2030-09-02")
            _ = try await fixture.place(server.store, child: fixture.almatyChildren[1], first: "2030-09-02")
            await #expect(
                performing: {
                    let _: GroupMessage = try await client.call(
                        RPC.NurseryService.updateGroup,
                        UpdateGroupRequest(group: GroupMessage(id: NurseryFixture.almatyGroup, capacity: 1), updateMask: ["capacity"]),
                        options: .mutation())
                }, throws: { rpcCode($0) == .failedPrecondition })
            await client.close()
        }
    }

    @Test func fiftyClientsRaceForTheLastFivePlaces() async throws {
        let server = try await TestServer.start(now: { Self.september1 })
        let fixture = try await NurseryFixture.seed(server.store, capacity: 10, children: 0)
        // Five places taken, five left.
        for index in 0..<5 {
            _ = try await fixture.place(server.store, child: try await fixture.newAlmatyChild(server.store, name: "held \(index)"), first: "2026-09-01")
        }
        var children: [Child] = []
        for index in 0..<50 { children.append(try await fixture.newAlmatyChild(server.store, name: "racer \(index)")) }
        let clients = (0..<50).map { _ in server.client(token: server.adminToken) }
        // Connect everyone first, so the bookings really arrive together.
        for client in clients { _ = try await client.health() }
        let codes = try await withThrowingTaskGroup(of: StatusCode.self) { group in
            for (client, child) in zip(clients, children) {
                group.addTask {
                    do {
                        let _: PlacementMessage = try await client.call(
                            RPC.NurseryService.bookPlace,
                            BookPlaceRequest(childID: child.id, groupID: NurseryFixture.almatyGroup, firstDay: "2026-09-01", pattern: "mon-fri:full"),
                            options: .mutation())
                        return .ok
                    } catch let error as RPCError {
                        return error.code
                    }
                }
            }
            return try await group.reduce(into: [StatusCode]()) { $0.append($1) }
        }
        #expect(codes.filter { $0 == .ok }.count == 5)
        #expect(codes.filter { $0 == .resourceExhausted }.count == 45)
        for client in clients { await client.close() }
        try await server.server.shutdownGracefully()
        try await server.store.close()

        // The database agrees after a restart.
        let reopened = try SQLiteStore(directory: server.directory)
        let placements = try await reopened.listPlacements(PlacementFilter(groupID: NurseryFixture.almatyGroup), after: nil, limit: 1000).items
        #expect(placements.count == 10)
        let occupancy = try await reopened.occupancy(nurseryID: "almaty-1", from: CivilDate(parsing: "2026-09-01")!, to: CivilDate(parsing: "2026-09-30")!)
        #expect(occupancy.allSatisfy { day in day.sessions.allSatisfy { $0.occupancy.taken <= 10 } })
        #expect(occupancy.first?.sessions.first?.occupancy.taken == 10)
        try await reopened.close()
        try? FileManager.default.removeItem(at: server.directory)
    }
}

/// The nursery corrections: occupancy per family kind, refusal counts, placements that never
/// meet, the past as a correction, and the shortest pattern form, all through a real server.
@Suite(.timeLimit(.minutes(3)))
struct NurseryCorrectionTests {
    static let context = MutationContext(actor: nil, method: "test")

    func book(_ client: SchedulerClient, _ child: Child, first: String, last: String = "", pattern: String, correction: Bool = false) async throws
        -> PlacementMessage
    {
        try await client.call(
            RPC.NurseryService.bookPlace,
            BookPlaceRequest(childID: child.id, groupID: NurseryFixture.almatyGroup, firstDay: first, lastDay: last, pattern: pattern, correction: correction),
            options: .mutation())
    }

    func refusal(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? RPCError
        }
    }

    func field(_ error: RPCError?) -> String? {
        error?.status.details.first.flatMap { try? $0.decode(as: BadRequest.self) }?.violations.first?.field
    }

    @Test func occupancyShowsWhatEachKindOfFamilyCouldStillTake() async throws {
        try await TestServer.with(now: { NurseryServiceTests.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store, capacity: 4)
            _ = try await server.store.updateGroup(id: NurseryFixture.almatyGroup, context: Self.context, reply: { _ in [] }) {
                $0.reservedSOS = 2
            }
            _ = try await fixture.place(server.store, child: fixture.almatyChildren[0], first: "2026-09-01", pattern: "mon-fri:am")
            let client = server.client(token: server.adminToken)
            let occupancy: GetOccupancyResponse = try await client.call(
                RPC.NurseryService.getOccupancy, GetOccupancyRequest(nurseryID: "almaty-1", fromDay: "2026-09-01", toDay: "2026-09-01"))
            let morning = try #require(occupancy.days.first?.sessions.first { $0.session == .morning })
            // Four places, one taken by a local child, two kept for SOS children: three free, all
            // three open to an SOS child, only one to a local child.
            #expect(morning.capacity == 4 && morning.local == 1 && morning.sos == 0 && morning.free == 3)
            #expect(morning.freeForSOS == 3)
            #expect(morning.freeForLocal == 1)
            let afternoon = try #require(occupancy.days.first?.sessions.first { $0.session == .afternoon })
            #expect(afternoon.free == 4 && afternoon.freeForSOS == 4 && afternoon.freeForLocal == 2)
            await client.close()
        }
    }

    @Test func aRefusalCountsEverySessionThatDoesNotFit() async throws {
        try await TestServer.with(now: { NurseryServiceTests.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store, capacity: 1)
            _ = try await server.store.updateNursery(id: "almaty-1", context: Self.context, reply: { _ in [] }) {
                $0.closures = [CivilDate(parsing: "2026-09-16")!]
            }
            _ = try await fixture.place(server.store, child: fixture.almatyChildren[0], first: "2026-09-01", last: "2026-09-30")
            let client = server.client(token: server.adminToken)
            // Two weeks of full days, less the closed Wednesday: 9 days, 18 sessions, 10 of them listed.
            let full = await refusal { _ = try await book(client, fixture.almatyChildren[1], first: "2026-09-14", last: "2026-09-25", pattern: "mon-fri:full") }
            #expect(full?.code == .resourceExhausted)
            #expect(full?.status.message.contains("and on 17 more sessions (18 in all)") == true, "\(full?.status.message ?? "")")
            let detail = try #require(try full?.status.details.first?.decode(as: BookingConflictMessage.self))
            #expect(detail.conflicts.count == 10)
            #expect(detail.conflictingSessions == 18)
            #expect(detail.endlessFrom == "")

            // Against a placement with no last day, an open-ended booking never fits: said so, not counted.
            _ = try await fixture.place(server.store, child: fixture.almatyChildren[2], first: "2026-10-05", pattern: "mon:pm")
            let endless = await refusal { _ = try await book(client, fixture.almatyChildren[1], first: "2026-09-21", pattern: "mon:pm") }
            #expect(endless?.code == .resourceExhausted)
            let message = endless?.status.message ?? ""
            #expect(message.contains("on 2026-09-21 (afternoon) and on 1 more session before 2026-10-05"), "\(message)")
            #expect(message.contains("from 2026-10-05 on it has no room any week"), "\(message)")
            let endlessDetail = try #require(try endless?.status.details.first?.decode(as: BookingConflictMessage.self))
            #expect(endlessDetail.conflictingSessions == 2)
            #expect(endlessDetail.endlessFrom == "2026-10-05")
            await client.close()
        }
    }

    @Test func aSecondPlacementThatNeverMeetsTheFirstIsAllowed() async throws {
        try await TestServer.with(now: { NurseryServiceTests.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store)
            _ = try await server.store.updateNursery(id: "almaty-1", context: Self.context, reply: { _ in [] }) {
                $0.closures = [CivilDate(parsing: "2026-09-21")!]
            }
            let client = server.client(token: server.adminToken)
            let child = fixture.almatyChildren[0]
            // Mondays to Tuesday the 15th, then weekday mornings from that Tuesday: both take Mondays, never the same one.
            _ = try await book(client, child, first: "2026-09-07", last: "2026-09-15", pattern: "mon:am")
            _ = try await book(client, child, first: "2026-09-15", last: "2026-09-18", pattern: "mon-fri:am")
            // Ending on a closed Monday and starting on it: they would meet only on a day the nursery is shut.
            let other = fixture.almatyChildren[1]
            _ = try await book(client, other, first: "2026-09-14", last: "2026-09-21", pattern: "mon:pm")
            _ = try await book(client, other, first: "2026-09-21", pattern: "mon:pm")
            // Sessions that really meet are still refused, naming the first one.
            let clash = await refusal { _ = try await book(client, child, first: "2026-09-01", last: "2026-09-30", pattern: "tue:am") }
            #expect(clash?.code == .failedPrecondition)
            #expect(field(clash) == "child_id")
            #expect(clash?.status.message.contains("morning of 2026-09-15") == true, "\(clash?.status.message ?? "")")
            let placements = try await server.store.listPlacements(PlacementFilter(nurseryID: "almaty-1"), after: nil, limit: 100).items
            #expect(placements.count == 4)
            await client.close()
        }
    }

    @Test func thePastIsChangedOnlyAsAnAuditedCorrection() async throws {
        try await TestServer.with(now: { NurseryServiceTests.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let client = server.client(token: server.adminToken)
            let child = fixture.almatyChildren[0]
            func corrections() async throws -> [AuditEntry] {
                try await server.store.auditEntries(after: 0, limit: 1000).filter(\.isCorrection)
            }

            // Booking from yesterday: refused, naming first_day, nothing written.
            let late = await refusal { _ = try await book(client, child, first: "2026-08-24", pattern: "mon-fri:am") }
            #expect(late?.code == .failedPrecondition)
            #expect(field(late) == "first_day")
            #expect(try await server.store.listPlacements(PlacementFilter(childID: child.id), after: nil, limit: 10).items.isEmpty)
            // From today: fine, and no correction.
            let today = try await book(client, fixture.almatyChildren[1], first: "2026-09-01", pattern: "mon-fri:am")
            #expect(today.state == .active)
            #expect(try await corrections().isEmpty)
            // As a correction: booked, and the audit says so.
            let corrected = try await book(client, child, first: "2026-08-24", pattern: "mon-fri:am", correction: true)
            #expect(corrected.firstDay == "2026-08-24")
            var marked = try await corrections()
            #expect(marked.count == 1)
            #expect(marked.last?.method == RPC.NurseryService.bookPlace.path)
            #expect(marked.last?.records.contains("correction:first_day") == true)
            #expect(marked.last?.records.contains("placement:\(corrected.id)") == true)

            // Ending from a past day: refused, then allowed as a correction.
            let endLate = await refusal {
                let _: PlacementMessage = try await client.call(
                    RPC.NurseryService.endPlacement, EndPlacementRequest(id: corrected.id, fromDay: "2026-08-31"), options: .mutation())
            }
            #expect(endLate?.code == .failedPrecondition)
            #expect(field(endLate) == "from_day")
            let ended: PlacementMessage = try await client.call(
                RPC.NurseryService.endPlacement, EndPlacementRequest(id: corrected.id, fromDay: "2026-08-31", correction: true), options: .mutation())
            #expect(ended.lastDay == "2026-08-30")
            marked = try await corrections()
            #expect(marked.count == 2)
            #expect(marked.last?.records.contains("correction:from_day") == true)
            // Ending from today needs no correction.
            let _: PlacementMessage = try await client.call(
                RPC.NurseryService.endPlacement, EndPlacementRequest(id: today.id, fromDay: "2026-09-02"), options: .mutation())
            #expect(try await corrections().count == 2)

            // Cancelling a started placement: refused, then allowed as a correction.
            let started = try await book(client, fixture.almatyChildren[2], first: "2026-08-25", pattern: "tue:pm", correction: true)
            let cancelLate = await refusal {
                let _: PlacementMessage = try await client.call(
                    RPC.NurseryService.cancelPlacement, CancelPlacementRequest(id: started.id), options: .mutation())
            }
            #expect(cancelLate?.code == .failedPrecondition)
            let cancelled: PlacementMessage = try await client.call(
                RPC.NurseryService.cancelPlacement, CancelPlacementRequest(id: started.id, correction: true), options: .mutation())
            #expect(cancelled.state == .cancelled)
            marked = try await corrections()
            #expect(marked.count == 4)
            #expect(marked.last?.method == RPC.NurseryService.cancelPlacement.path)
            #expect(marked.last?.records.contains("correction:id") == true)
            await client.close()
        }
    }

    @Test func todayIsTheSitesDayNotUTCs() async throws {
        // 20:00 UTC on 31 August is already 1 September in Almaty (UTC+5).
        let evening = Date(timeIntervalSince1970: 1_788_206_400)
        try await TestServer.with(now: { evening }) { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let client = server.client(token: server.adminToken)
            let late = await refusal { _ = try await book(client, fixture.almatyChildren[0], first: "2026-08-31", pattern: "mon:am") }
            #expect(late?.code == .failedPrecondition)
            #expect(field(late) == "first_day")
            #expect(try await book(client, fixture.almatyChildren[0], first: "2026-09-01", pattern: "tue:am").state == .active)
            await client.close()
        }
    }

    @Test(arguments: [
        ("mon,tue,wed,thu,fri:am;mon:pm;tue:pm;wed:pm;thu:pm;fri:pm", "mon-fri:full"),
        ("wed:pm;mon:am;tue:am;wed:am;thu:am;fri:am", "mon-fri:am;wed:pm"),
        ("mon:full;tue:full;thu:full;fri:am", "mon-tue,thu:full;fri:am"),
    ])
    func theServerAnswersWithTheShortestPattern(_ asked: String, _ shortest: String) async throws {
        try await TestServer.with(now: { NurseryServiceTests.september1 }) { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let client = server.client(token: server.adminToken)
            let booked = try await book(client, fixture.almatyChildren[0], first: "2026-09-07", pattern: asked)
            #expect(booked.pattern == shortest)
            let listed: ListPlacementsResponse = try await client.call(
                RPC.NurseryService.listPlacements, ListPlacementsRequest(childID: fixture.almatyChildren[0].id))
            #expect(listed.placements.map(\.pattern) == [shortest])
            await client.close()
        }
    }
}
