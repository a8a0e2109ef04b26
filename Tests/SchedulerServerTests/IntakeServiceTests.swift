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
            let _: RunRoundResponse = try await client.call(intake + "RunRound", RunRoundRequest(roundID: "r"), options: .mutation())
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
}
