import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

@Suite(.timeLimit(.minutes(2)))
struct IntakeServiceTests {
    let intake = "/sos.scheduler.v1.IntakeService/"

    @Test func aRetriedConfirmationBooksNobodyTwice() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let (round, holder, _) = try await AccessTests.runRound(server.store, fixture, n: 2)
            let client = server.client(token: server.adminToken)
            let options = CallOptions(idempotencyKey: "confirm-once")
            let first: ConfirmPlacementsResponse = try await client.call(intake + "ConfirmPlacements", ConfirmPlacementsRequest(roundID: round), options: options)
            let again: ConfirmPlacementsResponse = try await client.call(intake + "ConfirmPlacements", ConfirmPlacementsRequest(roundID: round), options: options)
            #expect(first.confirmed.map(\.childID) == [holder])
            #expect(again.confirmed.map(\.placementID) == first.confirmed.map(\.placementID))
            let placements = try await server.store.listPlacements(PlacementFilter(childID: holder), after: nil, limit: 10).items
            #expect(placements.count == 1)
            // A new call (new key) finds the place confirmed already and books nothing more.
            let later: ConfirmPlacementsResponse = try await client.call(intake + "ConfirmPlacements", ConfirmPlacementsRequest(roundID: round, childIDs: [holder]), options: .mutation())
            #expect(later.confirmed.map(\.placementID) == first.confirmed.map(\.placementID))
            #expect(try await server.store.listPlacements(PlacementFilter(childID: holder), after: nil, limit: 10).items.count == 1)
            await client.close()
        }
    }

    @Test func applicationsForAGroupThatDoesNotTakeTheChildsAgeAreRefused() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let store = server.store
            let setup = MutationContext(actor: nil, method: "setup")
            _ = try await store.createGroup(
                Group(id: "babies", nurseryID: "almaty-1", name: "Babies", minAgeMonths: 0, maxAgeMonths: 12, capacity: 4), context: setup, reply: { _ in [] })
            _ = try await store.createRound(
                IntakeRoundInfo(id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!, deadline: 4_102_444_800_000, seed: 1),
                context: setup, reply: { _ in [] })
            _ = try await store.openOffer(
                IntakeOffer(id: "b", groupID: "babies", nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 2), roundID: "r", context: setup, reply: { _ in [] })
            let client = server.client(token: server.adminToken)
            await #expect {
                let _: SubmitApplicationsResponse = try await client.call(
                    intake + "SubmitApplications",
                    SubmitApplicationsRequest(roundID: "r", applications: [ApplicationMessage(childID: fixture.almatyChildren[0].id, ranking: ["b"])]), options: .mutation())
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                let field = error.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field
                return error.code == .failedPrecondition && error.status.message.contains("months old") && (field == nil || field == "applications[0].ranking")
            }
            await client.close()
        }
    }

    @Test func resultsComeInPagesInChildOrder() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let store = server.store
            let setup = MutationContext(actor: nil, method: "setup")
            var children = fixture.almatyChildren.map(\.id)
            for index in 0..<4 { children.append(try await fixture.newAlmatyChild(store, name: "extra \(index)").id) }
            _ = try await store.createRound(
                IntakeRoundInfo(id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!, deadline: 4_102_444_800_000, seed: 1),
                context: setup, reply: { _ in [] })
            _ = try await store.openOffer(
                IntakeOffer(id: "o", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 3), roundID: "r", context: setup, reply: { _ in [] })
            _ = try await store.submitApplications(roundID: "r", children.map { ApplicationInput(childID: $0, ranking: ["o"]) }, context: setup, authorize: { _ in }, reply: { _ in [] })
            let client = server.client(token: server.adminToken)
            let _: RunRoundResponse = try await client.call(intake + "RunRound", RunRoundRequest(roundID: "r", closeEarly: true), options: .mutation())
            var seen: [String] = []
            var token = ""
            var pages = 0
            repeat {
                let page: GetResultsResponse = try await client.call(intake + "GetResults", GetResultsRequest(roundID: "r", pageSize: 3, pageToken: token))
                #expect(page.results.count <= 3)
                seen += page.results.map(\.childID)
                token = page.nextPageToken
                pages += 1
            } while !token.isEmpty && pages < 10
            #expect(seen == children.sorted())
            #expect(pages == 3)
            await client.close()
        }
    }

    /// A round whose deadline has passed, with one offer (2 places, 1 kept for SOS families)
    /// and the given children's applications, submitted before the deadline.
    static func pastDeadlineRound(
        _ store: any Store, _ fixture: NurseryFixture, children: [(name: String, kind: FamilyKind, special: Bool, single: Bool)], places: Int = 2, reservedSOS: Int = 1
    ) async throws -> [String: String] {
        let before = MutationContext(actor: nil, method: "setup", now: Date(timeIntervalSince1970: 1))
        _ = try await store.createRound(
            IntakeRoundInfo(id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!, deadline: 10_000, seed: 1),
            context: before, reply: { _ in [] })
        _ = try await store.openOffer(
            IntakeOffer(id: "A", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:full"), places: places, reservedSOS: reservedSOS),
            roundID: "r", context: before, reply: { _ in [] })
        var ids: [String: String] = [:]
        for child in children {
            let family = try NurseryFixture.applied(try await store.registerFamily(
                Family(id: "", siteID: "almaty", kind: child.kind, singleParent: child.single), context: before) { _ in [] })
            ids[child.name] = try NurseryFixture.applied(try await store.registerChild(
                Child(id: "", familyID: family.id, givenName: child.name, birthDate: CivilDate(parsing: "2025-03-15")!, specialNeeds: child.special),
                context: before) { _ in [] }).id
        }
        _ = try await store.submitApplications(
            roundID: "r", children.compactMap { ids[$0.name] }.map { ApplicationInput(childID: $0, ranking: ["A"]) }, context: before, authorize: { _ in },
            reply: { _ in [] })
        return ids
    }

    /// Waste (domain.md): 2 places, 1 kept for SOS families; S1 (SOS, special needs) and L1
    /// (local) both get one, through the real server.
    @Test func aReservedPlaceIsAFloorNotAnEmptyChair() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let ids = try await Self.pastDeadlineRound(server.store, fixture, children: [("S1", .sos, true, false), ("L1", .local, false, false)])
            let client = server.client(token: server.adminToken)
            let ran: RunRoundResponse = try await client.call(intake + "RunRound", RunRoundRequest(roundID: "r"), options: .mutation())
            #expect(ran.placed == 2)
            let results: GetResultsResponse = try await client.call(intake + "GetResults", GetResultsRequest(roundID: "r"))
            let seats = Dictionary(uniqueKeysWithValues: results.results.map { ($0.childID, $0) })
            #expect(seats[ids["S1"] ?? ""]?.offerID == "A" && seats[ids["S1"] ?? ""]?.seat == "reserved_sos")
            #expect(seats[ids["L1"] ?? ""]?.offerID == "A" && seats[ids["L1"] ?? ""]?.seat == "open")
            #expect(results.offers.first?.held == 2)
            let waitlist: GetWaitlistResponse = try await client.call(intake + "GetWaitlist", GetWaitlistRequest(roundID: "r", offerID: "A"))
            #expect(waitlist.entries.isEmpty)
            await client.close()
        }
    }

    /// Justified envy (domain.md): S1 (SOS, special needs) > L1 (local, single parent) > S2
    /// (SOS); S1 and L1 get the places, S2 waits, and the explanation says why.
    @Test func aHigherPriorityChildIsNotPassedOverForTheReserve() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let ids = try await Self.pastDeadlineRound(
                server.store, fixture, children: [("S1", .sos, true, false), ("L1", .local, false, true), ("S2", .sos, false, false)])
            let client = server.client(token: server.adminToken)
            let _: RunRoundResponse = try await client.call(intake + "RunRound", RunRoundRequest(roundID: "r"), options: .mutation())
            let results: GetResultsResponse = try await client.call(intake + "GetResults", GetResultsRequest(roundID: "r"))
            let placed = Set(results.results.filter { !$0.offerID.isEmpty }.map(\.childID))
            #expect(placed == Set([ids["S1"], ids["L1"]].compactMap { $0 }))
            let waitlist: GetWaitlistResponse = try await client.call(intake + "GetWaitlist", GetWaitlistRequest(roundID: "r", offerID: "A"))
            #expect(waitlist.entries.map(\.childID) == [ids["S2"] ?? ""])
            let explained: ExplainResponse = try await client.call(intake + "Explain", ExplainRequest(roundID: "r", childID: ids["S2"] ?? "", offerID: "A"))
            #expect(explained.outcome == "not_admitted")
            #expect(explained.text.contains("single-parent"), "\(explained.text)")
            #expect(!explained.text.contains("only for"))
            // L1's family gives the place up: S2 is offered it, and the reads show it.
            let moves: MovesResponse = try await client.call(intake + "ReleaseSeat", ReleaseSeatRequest(roundID: "r", childID: ids["L1"] ?? ""), options: .mutation())
            #expect(moves.moves.contains { $0.kind == "offered" && $0.childID == ids["S2"] })
            let after: GetResultsResponse = try await client.call(intake + "GetResults", GetResultsRequest(roundID: "r"))
            #expect(after.results.first { $0.childID == ids["L1"] }?.offerID == "")
            #expect(after.offers.first?.held == 1)
            let gaveUp: ExplainResponse = try await client.call(intake + "Explain", ExplainRequest(roundID: "r", childID: ids["L1"] ?? "", offerID: "A"))
            #expect(gaveUp.text.contains("gave up the place"), "\(gaveUp.text)")
            await client.close()
        }
    }

    /// A real run before the deadline is refused unless the caller closes the round early,
    /// which the audit log records.
    @Test func runningBeforeTheDeadlineNeedsAnExplicitEarlyClose() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let setup = MutationContext(actor: nil, method: "setup")
            _ = try await server.store.createRound(
                IntakeRoundInfo(id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!, deadline: 4_102_444_800_000, seed: 1),
                context: setup, reply: { _ in [] })
            _ = try await server.store.openOffer(
                IntakeOffer(id: "o", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 1), roundID: "r", context: setup, reply: { _ in [] })
            _ = try await server.store.submitApplications(
                roundID: "r", [ApplicationInput(childID: fixture.almatyChildren[0].id, ranking: ["o"])], context: setup, authorize: { _ in }, reply: { _ in [] })
            let client = server.client(token: server.adminToken)
            let _: RunRoundResponse = try await client.call(intake + "RunRound", RunRoundRequest(roundID: "r", dryRun: true))
            await #expect {
                let _: RunRoundResponse = try await client.call(intake + "RunRound", RunRoundRequest(roundID: "r"), options: .mutation())
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                let field = error.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field
                return error.code == .failedPrecondition && field == "close_early"
            }
            #expect(try await server.store.round(id: "r")?.state == .open)
            let ran: RunRoundResponse = try await client.call(intake + "RunRound", RunRoundRequest(roundID: "r", closeEarly: true), options: .mutation())
            #expect(ran.placed == 1)
            #expect(try await server.store.round(id: "r")?.state == .allocated)
            let audit = try await server.store.auditEntries(after: 0, limit: 1000)
            #expect(audit.contains { $0.records.contains("intake_round_closed_early:r") })
            await client.close()
        }
    }

    @Test func priorityOrdersThatCannotDecideAreRefused() async throws {
        try await TestServer.with { server in
            _ = try await NurseryFixture.seed(server.store)
            let client = server.client(token: server.adminToken)
            for (order, field) in [(["reserved_place", "sibling"], "round.priority_order[0]"), (["lottery", "special_needs"], "round.priority_order[1]"),
                                   (["sibling", "sibling"], "round.priority_order[1]")] {
                await #expect {
                    let _: IntakeRoundMessage = try await client.call(
                        intake + "CreateRound",
                        CreateRoundRequest(round: IntakeRoundMessage(
                            id: "bad", siteID: "almaty", name: "x", termFirst: "2027-09-01", termLast: "2028-05-31", deadlineMS: 4_102_444_800_000, priorityOrder: order)),
                        options: .mutation())
                } throws: { error in
                    guard let error = error as? RPCError else { return false }
                    let named = error.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field
                    return error.code == .invalidArgument && named == field
                }
            }
            await client.close()
        }
    }
}
