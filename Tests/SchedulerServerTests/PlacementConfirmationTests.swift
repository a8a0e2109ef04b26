import Foundation
import Logging
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

@testable import SchedulerServer

/// ConfirmPlacements driven as a value, with a real SQLite store and no socket: the
/// orchestration (which children, who can be confirmed, one transaction) on its own.
struct PlacementConfirmationTests {
    @Test func aConfirmationIsDrivenWithoutASocket() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let fixture = try await NurseryFixture.seed(store)
        let (round, holder, waiting) = try await AccessTests.runRound(store, fixture, n: 3)
        let issued = try NurseryFixture.applied(
            try await store.createToken(role: .admin, scope: nil, name: "test", context: MutationContext(actor: nil, method: "test")) { _ in [] })
        func context(_ id: UInt64) -> CallContext {
            CallContext(
                callID: id, method: RPC.IntakeService.confirmPlacements.path, token: issued.token, idempotencyKey: nil, payload: [],
                logger: Logger(label: "test"), state: CallState(), now: { Date() })
        }
        let confirmation = PlacementConfirmation(store: store, principal: issued.token.principal)

        // Every holder (one page), the one waiting refused with the reason.
        let all = try WireCodec.decode(
            ConfirmPlacementsResponse.self, from: try await confirmation.run(ConfirmPlacementsRequest(roundID: round), context: context(1)))
        #expect(all.confirmed.map(\.childID) == [holder])
        #expect(all.nextPageToken.isEmpty)
        let named = try WireCodec.decode(
            ConfirmPlacementsResponse.self,
            from: try await confirmation.run(ConfirmPlacementsRequest(roundID: round, childIDs: [holder, waiting]), context: context(2)))
        // Confirming again reports the same placement; the child without a place is named.
        #expect(named.confirmed.map(\.placementID) == all.confirmed.map(\.placementID))
        #expect(named.refused.map(\.childID) == [waiting])
        #expect(named.refused.first?.reason == "holds no place in this round")
        #expect(try await store.listPlacements(PlacementFilter(childID: holder), after: nil, limit: 10).items.count == 1)
        // The page after the last holder is empty.
        let after = try WireCodec.decode(
            ConfirmPlacementsResponse.self, from: try await confirmation.run(ConfirmPlacementsRequest(roundID: round, pageToken: holder), context: context(3)))
        #expect(after.confirmed.isEmpty && after.refused.isEmpty && after.nextPageToken.isEmpty)
        try await store.close()
    }
}
