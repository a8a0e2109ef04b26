import Foundation
import GRDB
import SchedulerClient
import SchedulerCore
import SchedulerTesting
import SchedulerWire
import Testing

@testable import SchedulerStore

@Suite(.timeLimit(.minutes(2)))
struct IntakeServiceTests {

    @Test func aRetriedConfirmationBooksNobodyTwice() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let (round, holder, _) = try await AccessTests.runRound(server.store, fixture, n: 2)
            let client = server.client(token: server.adminToken)
            let options = CallOptions(idempotencyKey: "confirm-once")
            let first: ConfirmPlacementsResponse = try await client.call(
                RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: round), options: options)
            let again: ConfirmPlacementsResponse = try await client.call(
                RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: round), options: options)
            #expect(first.confirmed.map(\.childID) == [holder])
            #expect(again.confirmed.map(\.placementID) == first.confirmed.map(\.placementID))
            let placements = try await server.store.listPlacements(PlacementFilter(childID: holder), after: nil, limit: 10).items
            #expect(placements.count == 1)
            // A new call (new key) finds the place confirmed already and books nothing more.
            let later: ConfirmPlacementsResponse = try await client.call(
                RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: round, childIDs: [holder]), options: .mutation())
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
                IntakeRoundInfo(
                    id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!,
                    deadline: 1_817_078_400_000, seed: 1),
                context: setup, reply: { _ in [] })
            _ = try await store.openOffer(
                IntakeOffer(id: "b", groupID: "babies", nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 2), roundID: "r",
                context: setup, reply: { _ in [] })
            let client = server.client(token: server.adminToken)
            await #expect {
                let _: SubmitApplicationsResponse = try await client.call(
                    RPC.IntakeService.submitApplications,
                    SubmitApplicationsRequest(roundID: "r", applications: [ApplicationMessage(childID: fixture.almatyChildren[0].id, ranking: ["b"])]),
                    options: .mutation())
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
            let (client, children) = try await Self.ranRoundOfThreePlaces(server, extraChildren: 4)
            var seen: [String] = []
            var token = ""
            var pages = 0
            repeat {
                let page: GetResultsResponse = try await client.call(
                    RPC.IntakeService.getResults, GetResultsRequest(roundID: "r", pageSize: 3, pageToken: token))
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

    /// Issue 10 item 7: replies that grow with a round come in pages (waitlists, moves, the
    /// confirmation of every holder) or are bounded (a call confirms at most 1000 children, a
    /// round holds at most 1000 offers), so none can outgrow the frame limit.
    @Test func waitlistsMovesAndConfirmationsComeInBoundedPages() async throws {
        try await TestServer.with { server in
            let (client, children) = try await Self.ranRoundOfThreePlaces(server, extraChildren: 6)
            let store = server.store
            let setup = MutationContext(actor: nil, method: "setup")
            func field(_ error: any Error) -> String? {
                (error as? RPCError)?.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field
            }

            // Waitlist pages of 2 add up to the whole list, positions in order.
            let whole: GetWaitlistResponse = try await client.call(RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "o"))
            #expect(whole.entries.count == children.count - 3 && whole.nextPageToken.isEmpty)
            var entries: [WaitlistEntryMessage] = [], token = "", pages = 0
            repeat {
                let page: GetWaitlistResponse = try await client.call(
                    RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "o", pageSize: 2, pageToken: token))
                #expect(page.entries.count <= 2)
                entries += page.entries
                token = page.nextPageToken
                pages += 1
            } while !token.isEmpty && pages < 20
            #expect(entries == whole.entries)
            #expect(entries.map(\.position) == (1...UInt32(whole.entries.count)).map { $0 })
            #expect(pages == (whole.entries.count + 1) / 2)
            for garbage in ["x", "+1", "-1", "99999999999999999999"] {
                await #expect {
                    let _: GetWaitlistResponse = try await client.call(
                        RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "o", pageToken: garbage))
                } throws: {
                    field($0) == "page_token"
                }
            }
            // Child-id cursors must look like ids (found by a break-in test: "\0" confirmed everyone).
            await #expect {
                let _: ConfirmPlacementsResponse = try await client.call(
                    RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: "r", pageToken: "$$$"), options: .mutation())
            } throws: { field($0) == "page_token" }
            await #expect {
                let _: GetResultsResponse = try await client.call(RPC.IntakeService.getResults, GetResultsRequest(roundID: "r", pageToken: "not an id!"))
            } throws: {
                field($0) == "page_token"
            }
            await #expect {
                let _: GetWaitlistResponse = try await client.call(
                    RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "o", pageSize: 10_001))
            } throws: {
                field($0) == "page_size"
            }

            // Confirmations: at most 1000 named children a call; every holder after a page token.
            let holders = try await store.intakeRunPage(roundID: "r", after: nil, limit: 100).filter { $0.seat != nil }.map(\.childID)
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            #expect(holders.count == 3)
            await #expect {
                let _: ConfirmPlacementsResponse = try await client.call(
                    RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: "r", childIDs: (0...1000).map { "chd_\($0)" }), options: .mutation())
            } throws: { field($0) == "child_ids" }
            await #expect {
                let _: ConfirmPlacementsResponse = try await client.call(
                    RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: "r", childIDs: [children[0]], pageToken: children[0]),
                    options: .mutation())
            } throws: { field($0) == "page_token" }
            let afterFirst: ConfirmPlacementsResponse = try await client.call(
                RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: "r", pageToken: holders[0]), options: .mutation())
            #expect(afterFirst.confirmed.map(\.childID) == Array(holders[1...]))
            #expect(afterFirst.refused.isEmpty && afterFirst.nextPageToken.isEmpty)

            // Moves: the unconfirmed holder gives the place up; pages of 1 add up to every move.
            let _: MovesResponse = try await client.call(
                RPC.IntakeService.releaseSeat, ReleaseSeatRequest(roundID: "r", childID: holders[0]), options: .mutation())
            let allMoves: MovesResponse = try await client.call(RPC.IntakeService.listMoves, ListMovesRequest(roundID: "r"))
            #expect(allMoves.moves.count >= 3 && allMoves.nextPageToken.isEmpty)
            var moves: [MoveMessage] = []
            token = ""
            repeat {
                let page: MovesResponse = try await client.call(RPC.IntakeService.listMoves, ListMovesRequest(roundID: "r", pageSize: 1, pageToken: token))
                #expect(page.moves.count == 1)
                moves += page.moves
                token = page.nextPageToken
            } while !token.isEmpty && moves.count < 50
            #expect(moves == allMoves.moves)

            // A round holds at most 1000 offers (999 more planted by hand, then one through the server).
            _ = try await store.createRound(
                IntakeRoundInfo(
                    id: "big", siteID: "almaty", name: "big", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!,
                    deadline: 1_817_078_400_000, seed: 1),
                context: setup, reply: { _ in [] })
            let queue = try DatabaseQueue(path: server.directory.appendingPathComponent("sosched.sqlite").path)
            try await queue.write { db in
                for index in 0..<1000 {
                    try db.execute(
                        sql:
                            "INSERT INTO intake_offer (id, round_id, group_id, nursery_id, pattern, places, reserved_sos, reserved_local) VALUES (?, 'big', ?, 'almaty-1', 1, 1, 0, 0)",
                        arguments: ["planted-\(index)", NurseryFixture.almatyGroup])
                }
            }
            try queue.close()
            await #expect {
                let _: IntakeOfferMessage = try await client.call(
                    RPC.IntakeService.openOffer,
                    OpenOfferRequest(
                        offer: IntakeOfferMessage(id: "one-more", roundID: "big", groupID: NurseryFixture.almatyGroup, pattern: "fri:pm", places: 1)),
                    options: .mutation())
            } throws: { error in
                (error as? RPCError)?.code == .failedPrecondition && "\(error)".contains("1000 offers")
            }
            let big: IntakeRoundMessage = try await client.call(RPC.IntakeService.getRound, GetRoundRequest(id: "big"))
            #expect(big.offers.count == 1000)
            await client.close()
        }
    }

    /// A round "r" of one offer "o" (3 morning places) that the fixture's Almaty children and
    /// `extraChildren` more applied to, run through the server; the admin's client and the
    /// applicants' ids.
    static func ranRoundOfThreePlaces(_ server: TestServer, extraChildren: Int) async throws -> (SchedulerClient, [String]) {
        let fixture = try await NurseryFixture.seed(server.store)
        let store = server.store
        let setup = MutationContext(actor: nil, method: "setup")
        var children = fixture.almatyChildren.map(\.id)
        for index in 0..<extraChildren { children.append(try await fixture.newAlmatyChild(store, name: "extra \(index)").id) }
        _ = try await store.createRound(
            IntakeRoundInfo(
                id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!,
                deadline: 1_817_078_400_000, seed: 1),
            context: setup, reply: { _ in [] })
        _ = try await store.openOffer(
            IntakeOffer(id: "o", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 3),
            roundID: "r", context: setup, reply: { _ in [] })
        _ = try await store.submitApplications(
            roundID: "r", children.map { ApplicationInput(childID: $0, ranking: ["o"]) }, context: setup, authorize: { _ in }, reply: { _ in [] })
        let client = server.client(token: server.adminToken)
        let _: RunRoundResponse = try await client.call(
            RPC.IntakeService.runRound, RunRoundRequest(roundID: "r", closeEarly: true), options: .mutation())
        return (client, children)
    }

    /// A round whose deadline has passed, with one offer (2 places, 1 kept for SOS families)
    /// and the given children's applications, submitted before the deadline.
    static func pastDeadlineRound(
        _ store: any Store, _ fixture: NurseryFixture, children: [(name: String, kind: FamilyKind, special: Bool, single: Bool)], places: Int = 2,
        reservedSOS: Int = 1
    ) async throws -> [String: String] {
        let before = MutationContext(actor: nil, method: "setup", now: Date(timeIntervalSince1970: 1))
        _ = try await store.createRound(
            IntakeRoundInfo(
                id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!, deadline: 10_000,
                seed: 1),
            context: before, reply: { _ in [] })
        _ = try await store.openOffer(
            IntakeOffer(
                id: "A", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:full"), places: places,
                reservedSOS: reservedSOS),
            roundID: "r", context: before, reply: { _ in [] })
        var ids: [String: String] = [:]
        for child in children {
            let family = try NurseryFixture.applied(
                try await store.registerFamily(
                    Family(id: "", siteID: "almaty", kind: child.kind, singleParent: child.single), context: before
                ) { _ in [] })
            ids[child.name] = try NurseryFixture.applied(
                try await store.registerChild(
                    Child(id: "", familyID: family.id, givenName: child.name, birthDate: CivilDate(parsing: "2025-03-15")!, specialNeeds: child.special),
                    context: before
                ) { _ in [] }
            ).id
        }
        _ = try await store.submitApplications(
            roundID: "r", children.compactMap { ids[$0.name] }.map { ApplicationInput(childID: $0, ranking: ["A"]) }, context: before, authorize: { _ in },
            reply: { _ in [] })
        return ids
    }

    /// domain.md's justified-envy case, run through the server: S1 (SOS, special needs) > L1
    /// (local, single parent) > S2 (SOS) apply for 2 places, 1 kept for SOS families.
    static func ranEnvyRound(_ server: TestServer) async throws -> (SchedulerClient, [String: String]) {
        let fixture = try await NurseryFixture.seed(server.store)
        let ids = try await pastDeadlineRound(
            server.store, fixture, children: [("S1", .sos, true, false), ("L1", .local, false, true), ("S2", .sos, false, false)])
        let client = server.client(token: server.adminToken)
        let _: RunRoundResponse = try await client.call(RPC.IntakeService.runRound, RunRoundRequest(roundID: "r"), options: .mutation())
        return (client, ids)
    }

    /// Waste (domain.md): 2 places, 1 kept for SOS families; S1 (SOS, special needs) and L1
    /// (local) both get one, through the real server.
    @Test func aReservedPlaceIsAFloorNotAnEmptyChair() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let ids = try await Self.pastDeadlineRound(server.store, fixture, children: [("S1", .sos, true, false), ("L1", .local, false, false)])
            let client = server.client(token: server.adminToken)
            let ran: RunRoundResponse = try await client.call(RPC.IntakeService.runRound, RunRoundRequest(roundID: "r"), options: .mutation())
            #expect(ran.placed == 2)
            let results: GetResultsResponse = try await client.call(RPC.IntakeService.getResults, GetResultsRequest(roundID: "r"))
            let seats = Dictionary(uniqueKeysWithValues: results.results.map { ($0.childID, $0) })
            #expect(seats[ids["S1"] ?? ""]?.offerID == "A" && seats[ids["S1"] ?? ""]?.seat == "reserved_sos")
            #expect(seats[ids["L1"] ?? ""]?.offerID == "A" && seats[ids["L1"] ?? ""]?.seat == "open")
            #expect(results.offers.first?.held == 2)
            let waitlist: GetWaitlistResponse = try await client.call(RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "A"))
            #expect(waitlist.entries.isEmpty)
            await client.close()
        }
    }

    /// Justified envy (domain.md): S1 (SOS, special needs) > L1 (local, single parent) > S2
    /// (SOS); S1 and L1 get the places, S2 waits, and the explanation says why.
    @Test func aHigherPriorityChildIsNotPassedOverForTheReserve() async throws {
        try await TestServer.with { server in
            let (client, ids) = try await Self.ranEnvyRound(server)
            let results: GetResultsResponse = try await client.call(RPC.IntakeService.getResults, GetResultsRequest(roundID: "r"))
            let placed = Set(results.results.filter { !$0.offerID.isEmpty }.map(\.childID))
            #expect(placed == Set([ids["S1"], ids["L1"]].compactMap { $0 }))
            let waitlist: GetWaitlistResponse = try await client.call(RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "A"))
            #expect(waitlist.entries.map(\.childID) == [ids["S2"] ?? ""])
            let explained: ExplainResponse = try await client.call(
                RPC.IntakeService.explain, ExplainRequest(roundID: "r", childID: ids["S2"] ?? "", offerID: "A"))
            #expect(explained.outcome == "not_admitted")
            #expect(explained.text.contains("single-parent"), "\(explained.text)")
            #expect(!explained.text.contains("only for"))
            // L1's family gives the place up: S2 is offered it, and the reads show it.
            let moves: MovesResponse = try await client.call(
                RPC.IntakeService.releaseSeat, ReleaseSeatRequest(roundID: "r", childID: ids["L1"] ?? ""), options: .mutation())
            #expect(moves.moves.contains { $0.kind == "offered" && $0.childID == ids["S2"] })
            let after: GetResultsResponse = try await client.call(RPC.IntakeService.getResults, GetResultsRequest(roundID: "r"))
            #expect(after.results.first { $0.childID == ids["L1"] }?.offerID == "")
            #expect(after.offers.first?.held == 1)
            let gaveUp: ExplainResponse = try await client.call(RPC.IntakeService.explain, ExplainRequest(roundID: "r", childID: ids["L1"] ?? "", offerID: "A"))
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
                IntakeRoundInfo(
                    id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!,
                    deadline: 1_817_078_400_000, seed: 1),
                context: setup, reply: { _ in [] })
            _ = try await server.store.openOffer(
                IntakeOffer(id: "o", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 1),
                roundID: "r", context: setup, reply: { _ in [] })
            _ = try await server.store.submitApplications(
                roundID: "r", [ApplicationInput(childID: fixture.almatyChildren[0].id, ranking: ["o"])], context: setup, authorize: { _ in }, reply: { _ in [] }
            )
            let client = server.client(token: server.adminToken)
            let _: RunRoundResponse = try await client.call(RPC.IntakeService.runRound, RunRoundRequest(roundID: "r", dryRun: true))
            await #expect {
                let _: RunRoundResponse = try await client.call(RPC.IntakeService.runRound, RunRoundRequest(roundID: "r"), options: .mutation())
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                let field = error.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field
                return error.code == .failedPrecondition && field == "close_early"
            }
            #expect(try await server.store.round(id: "r")?.state == .open)
            let ran: RunRoundResponse = try await client.call(RPC.IntakeService.runRound, RunRoundRequest(roundID: "r", closeEarly: true), options: .mutation())
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
            for (order, field) in [
                (["reserved_place", "sibling"], "round.priority_order[0]"), (["lottery", "special_needs"], "round.priority_order[1]"),
                (["sibling", "sibling"], "round.priority_order[1]"),
            ] {
                await #expect {
                    let _: IntakeRoundMessage = try await client.call(
                        RPC.IntakeService.createRound,
                        CreateRoundRequest(
                            round: IntakeRoundMessage(
                                id: "bad", siteID: "almaty", name: "x", termFirst: "2027-09-01", termLast: "2028-05-31", deadlineMs: 1_817_078_400_000,
                                priorityOrder: order)),
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

    /// A round that ran before run records were kept (schema v3: only `intake_result`) gets them
    /// on its first read, re-derived from its stored results, and reads the same as before.
    @Test func aRoundStoredBeforeRunRecordsIsUpgradedOnFirstRead() async throws {
        try await TestServer.with { server in
            let (client, _) = try await Self.ranEnvyRound(server)
            let before: GetResultsResponse = try await client.call(RPC.IntakeService.getResults, GetResultsRequest(roundID: "r"))
            let waitlistBefore: GetWaitlistResponse = try await client.call(RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "A"))
            // Back to what a v3 store held: results in intake_result, no run records.
            try await server.store.pool.write { db in
                for result in before.results where !result.offerID.isEmpty {
                    try db.execute(
                        sql: "INSERT INTO intake_result (round_id, child_id, offer_id, seat, choice) VALUES ('r', ?, ?, ?, ?)",
                        arguments: [result.childID, result.offerID, result.seat, Int(result.choice) - 1])
                }
                try db.execute(
                    sql: """
                        DELETE FROM intake_run_children WHERE round_id = 'r';
                        DELETE FROM intake_run_offer WHERE round_id = 'r';
                        UPDATE intake_round SET run_stored = 0 WHERE id = 'r';
                        """)
            }
            #expect(try await server.store.hasRunRecords(roundID: "r") == false)
            let after: GetResultsResponse = try await client.call(RPC.IntakeService.getResults, GetResultsRequest(roundID: "r"))
            #expect(after == before)
            #expect(try await server.store.hasRunRecords(roundID: "r"))
            let waitlistAfter: GetWaitlistResponse = try await client.call(RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "A"))
            #expect(waitlistAfter == waitlistBefore)
            await client.close()
        }
    }

    /// Found from outside: requests that must be refused before they cost anything or say anything.
    @Test func offersRoundsAndApplicationsThatCannotWorkAreRefused() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let setup = MutationContext(actor: nil, method: "setup")
            let client = server.client(token: server.adminToken)
            func refused(_ code: StatusCode, field: String, _ call: () async throws -> Void) async {
                await #expect {
                    try await call()
                } throws: { error in
                    guard let error = error as? RPCError else { return false }
                    let named = error.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field
                    return error.code == code && named == field
                }
            }
            // Rounds: applications close before the term starts; the term has not ended; at most three years.
            for (first, last, deadline, field) in [
                ("2027-09-01", "2028-05-31", Int64(1_830_000_000_000), "round.deadline_ms"),
                ("2020-09-01", "2021-05-31", Int64(1_590_000_000_000), "round.term_last"),
                ("2027-09-01", "9999-12-31", Int64(1_817_078_400_000), "round.term_last"),
            ] {
                await refused(.invalidArgument, field: field) {
                    let _: IntakeRoundMessage = try await client.call(
                        RPC.IntakeService.createRound,
                        CreateRoundRequest(
                            round: IntakeRoundMessage(id: "bad", siteID: "almaty", name: "x", termFirst: first, termLast: last, deadlineMs: deadline)),
                        options: .mutation())
                }
            }
            _ = try await server.store.createRound(
                IntakeRoundInfo(
                    id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!,
                    deadline: 1_817_078_400_000, seed: 1),
                context: setup, reply: { _ in [] })
            // An offer larger than its group is refused at once (the group holds 10), whatever its size.
            for places in [UInt32(11), UInt32.max] {
                await refused(.invalidArgument, field: "offer.places") {
                    let _: IntakeOfferMessage = try await client.call(
                        RPC.IntakeService.openOffer,
                        OpenOfferRequest(
                            offer: IntakeOfferMessage(id: "big", roundID: "r", groupID: NurseryFixture.almatyGroup, pattern: "mon-fri:full", places: places)),
                        options: .mutation())
                }
            }
            // An offer on a day the nursery is closed could never be booked.
            await refused(.invalidArgument, field: "offer.pattern") {
                let _: IntakeOfferMessage = try await client.call(
                    RPC.IntakeService.openOffer,
                    OpenOfferRequest(offer: IntakeOfferMessage(id: "sat", roundID: "r", groupID: NurseryFixture.almatyGroup, pattern: "sat:full", places: 1)),
                    options: .mutation())
            }
            // A child of another site reads as unknown: no age, no site named.
            _ = try await server.store.openOffer(
                IntakeOffer(id: "o", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 1),
                roundID: "r",
                context: setup, reply: { _ in [] })
            let other = fixture.astanaChildren[0].id
            await #expect {
                let _: SubmitApplicationsResponse = try await client.call(
                    RPC.IntakeService.submitApplications,
                    SubmitApplicationsRequest(roundID: "r", applications: [ApplicationMessage(childID: other, ranking: ["o"])]),
                    options: .mutation())
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                return error.code == .notFound && !error.status.message.contains("months") && !error.status.message.contains("astana")
            }
            let unknown: ExplainResponse? = try? await client.call(RPC.IntakeService.explain, ExplainRequest(roundID: "r", childID: "chd_nobody", offerID: "o"))
            #expect(unknown == nil)
            await #expect {
                let _: ExplainResponse = try await client.call(RPC.IntakeService.explain, ExplainRequest(roundID: "r", childID: other, offerID: "o"))
            } throws: { error in
                (error as? RPCError)?.status.message == "child \(other) has no application in round r"
            }
            await client.close()
        }
    }

    /// After moves, Explain's outcome is the live one.
    @Test func explanationsAndConfirmationsFollowTheMoves() async throws {
        try await TestServer.with { server in
            let (client, ids) = try await Self.ranEnvyRound(server)
            let l1 = ids["L1"] ?? "", s2 = ids["S2"] ?? ""
            let _: MovesResponse = try await client.call(RPC.IntakeService.releaseSeat, ReleaseSeatRequest(roundID: "r", childID: l1), options: .mutation())
            let gaveUp: ExplainResponse = try await client.call(RPC.IntakeService.explain, ExplainRequest(roundID: "r", childID: l1, offerID: "A"))
            #expect(gaveUp.outcome == "gave_up")
            let _: MovesResponse = try await client.call(
                RPC.IntakeService.respondToOffer, RespondToOfferRequest(roundID: "r", childID: s2, offerID: "A", accept: true), options: .mutation())
            let holds: ExplainResponse = try await client.call(RPC.IntakeService.explain, ExplainRequest(roundID: "r", childID: s2, offerID: "A"))
            #expect(holds.outcome == "holds")
            #expect(holds.text.contains("took a place at offer A"), "\(holds.text)")
            // Taken from the waitlist and given up again: the explanation tells both, in order.
            let _: MovesResponse = try await client.call(RPC.IntakeService.releaseSeat, ReleaseSeatRequest(roundID: "r", childID: s2), options: .mutation())
            let again: ExplainResponse = try await client.call(RPC.IntakeService.explain, ExplainRequest(roundID: "r", childID: s2, offerID: "A"))
            #expect(again.outcome == "gave_up")
            #expect(again.text.contains("took a place at offer A from its waitlist, then gave up the place at offer A"), "\(again.text)")
            // A confirmed place whose placement was cancelled is not reported as booked again.
            let s1 = ids["S1"] ?? ""
            let confirmed: ConfirmPlacementsResponse = try await client.call(
                RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: "r", childIDs: [s1]), options: .mutation())
            let placement = try #require(confirmed.confirmed.first?.placementID)
            let _: PlacementMessage = try await client.call(
                RPC.NurseryService.cancelPlacement, CancelPlacementRequest(id: placement), options: .mutation())
            let reconfirmed: ConfirmPlacementsResponse = try await client.call(
                RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: "r", childIDs: [s1]), options: .mutation())
            #expect(reconfirmed.confirmed.isEmpty)
            #expect(reconfirmed.refused.first?.reason.contains("no longer active") == true)
            await client.close()
        }
    }

    @Test func confirmingCannotDeclineAnOfferAtANurseryOutsideTheCallersScope() async throws {
        try await TestServer.with { server in
            let fixture = try await NurseryFixture.seed(server.store)
            let store = server.store
            let before = MutationContext(actor: nil, method: "setup", now: Date(timeIntervalSince1970: 1))
            _ = try await store.createNursery(Nursery(id: "almaty-2", siteID: "almaty", name: "Second"), context: before) { _ in [] }
            _ = try await store.createGroup(
                Group(id: "second", nurseryID: "almaty-2", name: "Second", minAgeMonths: 0, maxAgeMonths: 120, capacity: 5), context: before
            ) { _ in [] }
            _ = try await store.createRound(
                IntakeRoundInfo(
                    id: "r", siteID: "almaty", name: "r", first: CivilDate(parsing: "2027-09-01")!, last: CivilDate(parsing: "2028-05-31")!, deadline: 10_000,
                    seed: 1),
                context: before, reply: { _ in [] })
            for (id, group) in [("A", NurseryFixture.almatyGroup), ("B", "second")] {
                _ = try await store.openOffer(
                    IntakeOffer(id: id, groupID: group, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon-fri:am"), places: 1), roundID: "r",
                    context: before,
                    reply: { _ in [] })
            }
            // The first child applies first and takes A; the second holds B and waits for A.
            let first = fixture.almatyChildren[0].id, second = fixture.almatyChildren[1].id
            _ = try await store.submitApplications(
                roundID: "r", [ApplicationInput(childID: first, ranking: ["A"])], context: before, authorize: { _ in }, reply: { _ in [] })
            let later = MutationContext(actor: nil, method: "setup", now: Date(timeIntervalSince1970: 2))
            _ = try await store.submitApplications(
                roundID: "r", [ApplicationInput(childID: second, ranking: ["A", "B"])], context: later, authorize: { _ in }, reply: { _ in [] })
            let admin = server.client(token: server.adminToken)
            let _: RunRoundResponse = try await admin.call(RPC.IntakeService.runRound, RunRoundRequest(roundID: "r"), options: .mutation())
            let _: MovesResponse = try await admin.call(RPC.IntakeService.releaseSeat, ReleaseSeatRequest(roundID: "r", childID: first), options: .mutation())
            // A manager of the second nursery may not confirm B: that would decline the open offer of A.
            let manager = server.client(token: try await server.makeToken(role: .manager, scope: Scope(kind: .nursery, id: "almaty-2")))
            let confirmed: ConfirmPlacementsResponse = try await manager.call(
                RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: "r", childIDs: [second]), options: .mutation())
            #expect(confirmed.confirmed.isEmpty)
            #expect(confirmed.refused.first?.reason.contains("outside your scope") == true)
            let waitlist: GetWaitlistResponse = try await admin.call(RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: "r", offerID: "A"))
            #expect(waitlist.pending.map(\.childID) == [second])
            #expect(try await store.listPlacements(PlacementFilter(childID: second), after: nil, limit: 10).items.isEmpty)
            await manager.close()
            await admin.close()
        }
    }
}
