import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

@Suite(.timeLimit(.minutes(2)))
struct AccessTests {
    /// A valid request for every method, made afresh for each call (`n` is unique). A new method
    /// without a sample here fails the test below.
    static func samplePayload(for path: String, n: UInt64, revocable: String, server: TestServer, fixture: NurseryFixture) async throws -> [UInt8]? {
        let store = server.store
        let child = fixture.almatyChildren[0]
        switch path {
        case RPC.AdminService.health.path: return try WireCodec.encode(HealthRequest())
        case RPC.AdminService.whoAmI.path: return try WireCodec.encode(WhoAmIRequest())
        case RPC.AdminService.createToken.path: return try WireCodec.encode(CreateTokenRequest(role: .manager, scope: "nursery:almaty-1", name: "sample"))
        case RPC.AdminService.revokeToken.path: return try WireCodec.encode(RevokeTokenRequest(id: revocable))
        case RPC.AdminService.listTokens.path: return try WireCodec.encode(ListTokensRequest())
        case RPC.AdminService.watchHealth.path: return try WireCodec.encode(WatchHealthRequest(count: 1))
        case RPC.NurseryService.createSite.path:
            return try WireCodec.encode(CreateSiteRequest(site: SiteMessage(id: "site-\(n)", name: "S", timeZone: "Asia/Almaty")))
        case RPC.NurseryService.getSite.path: return try WireCodec.encode(GetSiteRequest(id: "almaty"))
        case RPC.NurseryService.listSites.path: return try WireCodec.encode(ListSitesRequest())
        case RPC.NurseryService.updateSite.path:
            return try WireCodec.encode(UpdateSiteRequest(site: SiteMessage(id: "almaty", name: "Almaty \(n)"), updateMask: ["name"]))
        case RPC.NurseryService.createNursery.path:
            return try WireCodec.encode(CreateNurseryRequest(nursery: NurseryMessage(id: "n-\(n)", siteID: "almaty", name: "N")))
        case RPC.NurseryService.getNursery.path: return try WireCodec.encode(GetNurseryRequest(id: "almaty-1"))
        case RPC.NurseryService.listNurseries.path: return try WireCodec.encode(ListNurseriesRequest(siteID: "almaty"))
        case RPC.NurseryService.updateNursery.path:
            return try WireCodec.encode(UpdateNurseryRequest(nursery: NurseryMessage(id: "almaty-1", name: "N \(n)"), updateMask: ["name"]))
        case RPC.NurseryService.createGroup.path:
            return try WireCodec.encode(
                CreateGroupRequest(group: GroupMessage(id: "g-\(n)", nurseryID: "almaty-1", name: "G", minAgeMonths: 12, maxAgeMonths: 48, capacity: 5)))
        case RPC.NurseryService.getGroup.path: return try WireCodec.encode(GetGroupRequest(id: NurseryFixture.almatyGroup))
        case RPC.NurseryService.listGroups.path: return try WireCodec.encode(ListGroupsRequest(nurseryID: "almaty-1"))
        case RPC.NurseryService.updateGroup.path:
            return try WireCodec.encode(UpdateGroupRequest(group: GroupMessage(id: NurseryFixture.almatyGroup, name: "T \(n)"), updateMask: ["name"]))
        case RPC.NurseryService.registerFamily.path: return try WireCodec.encode(RegisterFamilyRequest(family: FamilyMessage(siteID: "almaty", kind: .local)))
        case RPC.NurseryService.getFamily.path: return try WireCodec.encode(GetFamilyRequest(id: fixture.almatyFamily.id))
        case RPC.NurseryService.listFamilies.path: return try WireCodec.encode(ListFamiliesRequest(siteID: "almaty"))
        case RPC.NurseryService.updateFamily.path:
            return try WireCodec.encode(
                UpdateFamilyRequest(family: FamilyMessage(id: fixture.almatyFamily.id, singleParent: true), updateMask: ["single_parent"]))
        case RPC.NurseryService.registerChild.path:
            return try WireCodec.encode(RegisterChildRequest(child: ChildMessage(familyID: fixture.almatyFamily.id, givenName: "N", birthDate: "2024-03-15")))
        case RPC.NurseryService.getChild.path: return try WireCodec.encode(GetChildRequest(id: child.id))
        case RPC.NurseryService.listChildren.path: return try WireCodec.encode(ListChildrenRequest(familyID: fixture.almatyFamily.id))
        case RPC.NurseryService.updateChild.path:
            return try WireCodec.encode(UpdateChildRequest(child: ChildMessage(id: child.id, specialNeeds: true), updateMask: ["special_needs"]))
        case RPC.NurseryService.bookPlace.path:
            let fresh = try await fixture.newAlmatyChild(store)
            return try WireCodec.encode(BookPlaceRequest(childID: fresh.id, groupID: NurseryFixture.almatyGroup, firstDay: "2030-01-07", pattern: "mon-fri:am"))
        case RPC.NurseryService.endPlacement.path:
            let placed = try await fixture.place(store, child: try await fixture.newAlmatyChild(store), first: "2030-01-07", pattern: "mon:pm")
            return try WireCodec.encode(EndPlacementRequest(id: placed.id, fromDay: "2030-02-04"))
        case RPC.NurseryService.cancelPlacement.path:
            let placed = try await fixture.place(store, child: try await fixture.newAlmatyChild(store), first: "2031-01-06", pattern: "tue:pm")
            return try WireCodec.encode(CancelPlacementRequest(id: placed.id))
        case RPC.NurseryService.listPlacements.path: return try WireCodec.encode(ListPlacementsRequest(nurseryID: "almaty-1"))
        case RPC.NurseryService.getOccupancy.path:
            return try WireCodec.encode(GetOccupancyRequest(nurseryID: "almaty-1", fromDay: "2030-01-07", toDay: "2030-01-13"))
        default: break
        }
        if RPC.CounsellingService.all.contains(where: { $0.path == path }) { return try await Self.counsellingSample(for: path, n: n, store: store) }
        if RPC.MentoringService.all.contains(where: { $0.path == path }) { return try await Self.mentoringSample(for: path, n: n, store: store) }
        guard RPC.IntakeService.all.contains(where: { $0.path == path }) else { return nil }
        try await Self.intakeRounds(store, fixture)
        switch path {
        case RPC.IntakeService.createRound.path:
            return try WireCodec.encode(
                CreateRoundRequest(
                    round: IntakeRoundMessage(
                        id: "round-\(n)", siteID: "almaty", name: "R", termFirst: "2031-09-01", termLast: "2032-05-28", deadlineMs: 1_943_308_800_000)))
        case RPC.IntakeService.getRound.path: return try WireCodec.encode(GetRoundRequest(id: "r-open"))
        case RPC.IntakeService.openOffer.path:
            return try WireCodec.encode(
                OpenOfferRequest(
                    offer: IntakeOfferMessage(id: "offer-\(n)", roundID: "r-open", groupID: NurseryFixture.almatyGroup, pattern: "fri:pm", places: 1)))
        case RPC.IntakeService.submitApplications.path:
            return try WireCodec.encode(
                SubmitApplicationsRequest(roundID: "r-open", applications: [ApplicationMessage(childID: child.id, ranking: ["o-open"])]))
        case RPC.IntakeService.withdrawApplication.path:
            let fresh = try await fixture.newAlmatyChild(store)
            _ = try await store.submitApplications(
                roundID: "r-open", [ApplicationInput(childID: fresh.id, ranking: ["o-open"])], context: MutationContext(actor: nil, method: "setup"),
                authorize: { _ in }, reply: { _ in [] })
            return try WireCodec.encode(WithdrawApplicationRequest(roundID: "r-open", childID: fresh.id))
        case RPC.IntakeService.runRound.path: return try WireCodec.encode(RunRoundRequest(roundID: "r-open", dryRun: true))
        case RPC.IntakeService.getResults.path: return try WireCodec.encode(GetResultsRequest(roundID: "r-done"))
        case RPC.IntakeService.getWaitlist.path: return try WireCodec.encode(GetWaitlistRequest(roundID: "r-done", offerID: "o-done"))
        case RPC.IntakeService.explain.path: return try WireCodec.encode(ExplainRequest(roundID: "r-done", childID: child.id, offerID: "o-done"))
        case RPC.IntakeService.listMoves.path: return try WireCodec.encode(ListMovesRequest(roundID: "r-done"))
        case RPC.IntakeService.confirmPlacements.path:
            let (round, holder, _) = try await Self.runRound(store, fixture, n: n)
            return try WireCodec.encode(ConfirmPlacementsRequest(roundID: round, childIDs: [holder]))
        case RPC.IntakeService.releaseSeat.path:
            let (round, holder, _) = try await Self.runRound(store, fixture, n: n)
            return try WireCodec.encode(ReleaseSeatRequest(roundID: round, childID: holder))
        case RPC.IntakeService.respondToOffer.path:
            let (round, holder, waiting) = try await Self.runRound(store, fixture, n: n)
            _ = try await store.appendIntakeEvents(
                roundID: round, [IntakeEventRecord(event: .release(child: holder), at: Int64(Date().timeIntervalSince1970 * 1000))],
                context: MutationContext(actor: nil, method: "setup"), check: { _, _ in }, reply: { _ in [] })
            return try WireCodec.encode(RespondToOfferRequest(roundID: round, childID: waiting, offerID: "o-\(n)", accept: true))
        default: return nil
        }
    }

    /// Counselling requests: the records of `CounsellingFixture`, and a fresh session for each
    /// call that changes one. The counsellor token is `counsellor:c1`: its own schedule.
    static func counsellingSample(for path: String, n: UInt64, store: any Store) async throws -> [UInt8]? {
        if try await store.home(id: "home-1") == nil { try await CounsellingFixture.seed(store) }
        typealias C = RPC.CounsellingService
        // Each session in a week of its own, so no counsellor limit is reached.
        let future = CivilDate(parsing: "2031-01-06")!.adding(days: 7 * Int(n))
        switch path {
        case C.createHome.path: return try WireCodec.encode(CreateHomeRequest(home: HomeMessage(id: "h-\(n)", siteID: "almaty", name: "H")))
        case C.getHome.path: return try WireCodec.encode(GetHomeRequest(id: "home-1"))
        case C.listHomes.path: return try WireCodec.encode(ListHomesRequest(siteID: "almaty"))
        case C.updateHome.path: return try WireCodec.encode(UpdateHomeRequest(home: HomeMessage(id: "home-1", name: "Home \(n)"), updateMask: ["name"]))
        case C.createYoungPerson.path:
            return try WireCodec.encode(
                CreateYoungPersonRequest(
                    youngPerson: YoungPersonMessage(id: "yp-n\(n)", homeID: "home-1", name: "Y", availability: ["mon 16:00-19:00"], sessionsPerWeek: 1)))
        case C.getYoungPerson.path: return try WireCodec.encode(GetYoungPersonRequest(id: "yp-1"))
        case C.listYoungPeople.path: return try WireCodec.encode(ListYoungPeopleRequest(siteID: "almaty"))
        case C.updateYoungPerson.path:
            return try WireCodec.encode(UpdateYoungPersonRequest(youngPerson: YoungPersonMessage(id: "yp-1", name: "Young \(n)"), updateMask: ["name"]))
        case C.createCounsellor.path:
            return try WireCodec.encode(
                CreateCounsellorRequest(counsellor: CounsellorMessage(id: "cn-\(n)", siteID: "almaty", name: "C", availability: ["tue 09:00-17:00"])))
        case C.getCounsellor.path: return try WireCodec.encode(GetCounsellorRequest(id: "c1"))
        case C.listCounsellors.path: return try WireCodec.encode(ListCounsellorsRequest(siteID: "almaty"))
        case C.updateCounsellor.path:
            return try WireCodec.encode(UpdateCounsellorRequest(counsellor: CounsellorMessage(id: "c2", name: "Bolat \(n)"), updateMask: ["name"]))
        case C.importCounselling.path:
            return try WireCodec.encode(ImportCounsellingRequest(siteID: "almaty", homes: [HomeMessage(id: "ih-\(n)", name: "Imported")]))
        case C.planWeek.path: return try WireCodec.encode(PlanWeekRequest(siteID: "almaty", week: "2030-W02", timeBudgetMs: 300))
        case C.reportAbsence.path:
            let day = future.description
            _ = try await CounsellingFixture.newSession(store, n: n, date: future, counsellor: "c2")
            return try WireCodec.encode(ReportAbsenceRequest(counsellorID: "c2", from: day, to: day))
        case C.getSchedule.path: return try WireCodec.encode(GetScheduleRequest(counsellorID: "c1", from: "2030-01-01", to: "2030-12-31"))
        case C.rescheduleSession.path:
            let session = try await CounsellingFixture.newSession(store, n: n, date: future)
            return try WireCodec.encode(RescheduleSessionRequest(sessionID: session.id, date: future.description, start: "14:00"))
        case C.cancelSession.path:
            return try WireCodec.encode(CancelSessionRequest(sessionID: try await CounsellingFixture.newSession(store, n: n, date: future).id))
        case C.markDone.path:
            let past = CivilDate(parsing: "2020-01-06")!.adding(days: 7 * Int(n))
            return try WireCodec.encode(MarkDoneRequest(sessionID: try await CounsellingFixture.newSession(store, n: n, date: past).id))
        case C.pinSession.path:
            return try WireCodec.encode(PinSessionRequest(sessionID: try await CounsellingFixture.newSession(store, n: n, date: future).id, pinned: true))
        case C.exportCalendar.path: return try WireCodec.encode(ExportCalendarRequest(counsellorID: "c1", from: "2030-01-01", to: "2030-12-31"))
        default: return nil
        }
    }

    /// Mentoring requests: mentor `m-1` at almaty, and a fresh batch for each call that cancels.
    static func mentoringSample(for path: String, n: UInt64, store: any Store) async throws -> [UInt8]? {
        if try await store.home(id: "home-1") == nil { try await CounsellingFixture.seed(store) }
        try await CounsellingFixture.seedMentor(store)
        typealias M = RPC.MentoringService
        let future = CivilDate(parsing: "2031-01-06")!.adding(days: 7 * Int(n))
        switch path {
        case M.createMentor.path:
            return try WireCodec.encode(CreateMentorRequest(mentor: MentorMessage(id: "mn-\(n)", siteID: "almaty", name: "M", fields: ["it"], capacity: 1)))
        case M.getMentor.path: return try WireCodec.encode(GetMentorRequest(id: "m-1"))
        case M.listMentors.path: return try WireCodec.encode(ListMentorsRequest(siteID: "almaty"))
        case M.updateMentor.path: return try WireCodec.encode(UpdateMentorRequest(mentor: MentorMessage(id: "m-1", name: "Mentor \(n)"), updateMask: ["name"]))
        case M.importMentors.path:
            return try WireCodec.encode(ImportMentorsRequest(siteID: "almaty", mentors: [MentorMessage(id: "im-\(n)", name: "I", fields: ["it"], capacity: 1)]))
        case M.batchAssign.path:
            let day = future.description
            return try WireCodec.encode(
                BatchAssignRequest(
                    siteID: "almaty", batchID: "access-\(n)", items: [BatchItemMessage(youngPersonID: "yp-1", fields: ["it"], sessions: 1, from: day, to: day)])
            )
        case M.listMentorSessions.path: return try WireCodec.encode(ListMentorSessionsRequest(siteID: "almaty"))
        case M.cancelMentorSession.path:
            return try WireCodec.encode(CancelMentorSessionRequest(sessionID: try await CounsellingFixture.newMentorBatch(store, n: n, date: future).id))
        case M.cancelBatch.path:
            _ = try await CounsellingFixture.newMentorBatch(store, n: n, date: future)
            return try WireCodec.encode(CancelBatchRequest(batchID: "batch-\(n)"))
        default: return nil
        }
    }

    /// A round of its own that has run: one place, two applicants; returns it, the holder and the one waiting.
    static func runRound(_ store: any Store, _ fixture: NurseryFixture, n: UInt64) async throws -> (String, String, String) {
        let setup = MutationContext(actor: nil, method: "setup")
        let round = "r-\(n)"
        _ = try await store.createRound(
            IntakeRoundInfo(
                id: round, siteID: "almaty", name: round, first: CivilDate(parsing: "2031-09-01")!, last: CivilDate(parsing: "2032-05-28")!,
                deadline: 1_943_308_800_000, seed: n),
            context: setup, reply: { _ in [] })
        let slot = ["mon", "tue", "wed", "thu", "fri"][Int(n % 5)] + (n % 2 == 0 ? ":am" : ":pm")
        _ = try await store.openOffer(
            IntakeOffer(id: "o-\(n)", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: slot), places: 1),
            roundID: round, context: setup, reply: { _ in [] })
        let pair = Array(fixture.almatyChildren.prefix(2))
        _ = try await store.submitApplications(
            roundID: round, pair.map { ApplicationInput(childID: $0.id, ranking: ["o-\(n)"]) }, context: setup, authorize: { _ in }, reply: { _ in [] })
        let inputs = try await store.intakeInputs(roundID: round)
        let allocator = try inputs.allocator()
        let result = allocator.run()
        let seats = result.seats
        let records = allocator.runRecords(in: result)
        _ = try await store.recordAllocation(
            roundID: round, inputsVersion: inputs.round.inputsVersion, children: records.children, offers: records.offers,
            closedEarly: true, context: setup, reply: { _ in [] })
        let holder = try #require(seats.keys.first)
        let waiting = try #require(pair.map(\.id).first { $0 != holder })
        return (round, holder, waiting)
    }

    /// An open round with one offer, and a round that has run, for the intake samples.
    static func intakeRounds(_ store: any Store, _ fixture: NurseryFixture) async throws {
        guard try await store.round(id: "r-open") == nil else { return }
        let setup = MutationContext(actor: nil, method: "setup")
        for id in ["r-open", "r-done"] {
            _ = try await store.createRound(
                IntakeRoundInfo(
                    id: id, siteID: "almaty", name: id, first: CivilDate(parsing: "2031-09-01")!, last: CivilDate(parsing: "2032-05-28")!,
                    deadline: 1_943_308_800_000, seed: 9),
                context: setup, reply: { _ in [] })
            _ = try await store.openOffer(
                IntakeOffer(
                    id: id == "r-open" ? "o-open" : "o-done", groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: "mon:am"),
                    places: 1),
                roundID: id, context: setup, reply: { _ in [] })
        }
        _ = try await store.submitApplications(
            roundID: "r-done", fixture.almatyChildren.map { ApplicationInput(childID: $0.id, ranking: ["o-done"]) }, context: setup, authorize: { _ in },
            reply: { _ in [] })
        let inputs = try await store.intakeInputs(roundID: "r-done")
        let allocator = try inputs.allocator()
        let records = allocator.runRecords(in: allocator.run())
        _ = try await store.recordAllocation(
            roundID: "r-done", inputsVersion: inputs.round.inputsVersion, children: records.children, offers: records.offers,
            closedEarly: true, context: setup, reply: { _ in [] })
    }

    @Test func thePermissionTableCoversExactlyTheMethodsInProto() throws {
        let generated = Set(MethodDescriptor.all.map(\.path))
        #expect(Set(MethodPermissions.table.keys.map(\.path)) == generated)
        #expect(!generated.isEmpty)
        // Only Health may be called without a token.
        #expect(MethodPermissions.table.filter { $0.value.permission == .anyone }.keys.map(\.path) == [RPC.AdminService.health.path])
    }

    enum Caller: CaseIterable, CustomStringConvertible {
        case none, malformed, unknown, revoked, admin, manager, counsellor, coordinator

        var role: Role? {
            switch self {
            case .admin: .admin
            case .manager: .manager
            case .counsellor: .counsellor
            case .coordinator: .coordinator
            default: nil
            }
        }

        var description: String {
            switch self {
            case .none: "no token"
            case .malformed: "a malformed token"
            case .unknown: "an unknown token"
            case .revoked: "a revoked token"
            case .admin, .manager, .counsellor, .coordinator: "a \(role?.rawValue ?? "") token"
            }
        }
    }

    @Test func everyMethodChecksItsCallerAndChangesNothingWhenItRefuses() async throws {
        try await TestServer.with { server in
            var tokens: [Caller: String] = [.none: "", .malformed: "not a token \u{1F600}", .unknown: "sos_" + String(repeating: "A", count: 43)]
            tokens[.admin] = server.adminToken
            // A token's scope must name a site that exists: the records first.
            let fixture = try await NurseryFixture.seed(server.store)
            tokens[.manager] = try await server.makeToken(role: .manager, scope: Scope(kind: .site, id: "almaty"))
            tokens[.counsellor] = try await server.makeToken(role: .counsellor, scope: Scope(kind: .counsellor, id: "c1"))
            tokens[.coordinator] = try await server.makeToken(role: .coordinator, scope: Scope(kind: .site, id: "almaty"))
            let revoked = try await server.makeToken(role: .admin)
            tokens[.revoked] = revoked
            let adminClient = server.client(token: server.adminToken)
            let revokedID = try await server.client(token: revoked).whoAmI().id
            _ = try await adminClient.revokeToken(id: revokedID)
            let victim = try await server.client(token: try await server.makeToken(role: .admin)).whoAmI().id

            let connection = try await RawConnection.connect(port: server.port)
            var id: UInt64 = 0
            for (method, rule) in MethodPermissions.table.sorted(by: { $0.key.path < $1.key.path }) {
                let path = method.path
                for caller in Caller.allCases {
                    id += 1
                    let sample = try await Self.samplePayload(for: path, n: id, revocable: victim, server: server, fixture: fixture)
                    let payload = try #require(sample, "no sample request for \(path)")
                    let tokensBefore = try await tokenCount(server)
                    let auditBefore = try await auditCount(server)
                    try await connection.send(
                        .call(
                            Call(
                                callID: id, method: path, payload: payload, authorization: tokens[caller] ?? "",
                                idempotencyKey: "key-\(id)")))
                    var reply = try await connection.nextReply()
                    #expect(reply.callID == id)
                    if method.kind == .serverStreaming {
                        // Its messages, then the final status.
                        while !reply.endOfStream {
                            #expect(reply.status.code == .ok)
                            reply = try await connection.nextReply()
                        }
                    }
                    let expected: StatusCode
                    switch rule.permission {
                    case .anyone:
                        expected = .ok
                    case .authenticated:
                        expected = caller.role == nil ? .unauthenticated : .ok
                    case .roles(let roles):
                        if let role = caller.role { expected = roles.contains(role) ? .ok : .permissionDenied } else { expected = .unauthenticated }
                    }
                    #expect(reply.status.code == expected, "\(path) called by \(caller): \(reply.status)")
                    if expected != .ok {
                        #expect(try await tokenCount(server) == tokensBefore, "\(path) by \(caller) changed tokens")
                        #expect(try await auditCount(server) == auditBefore, "\(path) by \(caller) wrote audit")
                    } else if rule.mutating {
                        // One entry a change; a call that books several placements writes several.
                        #expect(try await auditCount(server) > auditBefore, "\(path) by \(caller) was not audited")
                    }
                }
            }
            await connection.close()
            await adminClient.close()
        }
    }

    @Test func anIdempotentRetryReturnsTheFirstResultAndChangesNothing() async throws {
        try await TestServer.with { server in
            try await server.makeSite("astana")
            let connection = try await RawConnection.connect(port: server.port)
            let payload = try WireCodec.encode(CreateTokenRequest(role: .manager, scope: "site:astana", name: "retry me"))
            try await connection.send(call(1, RPC.AdminService.createToken, payload, token: server.adminToken, key: "same-key"))
            let first = try await connection.nextReply()
            let created = try WireCodec.decode(CreateTokenResponse.self, from: first.payload)
            #expect(created.secret.hasPrefix("sos_"))
            let tokens = try await tokenCount(server)
            let audit = try await auditCount(server)

            try await connection.send(call(2, RPC.AdminService.createToken, payload, token: server.adminToken, key: "same-key"))
            let second = try await connection.nextReply()
            #expect(second.status.isOK)
            let replayed = try WireCodec.decode(CreateTokenResponse.self, from: second.payload)
            #expect(replayed.token == created.token)
            // The secret is never stored, so a replay cannot repeat it.
            #expect(replayed.secret.isEmpty)
            #expect(try await tokenCount(server) == tokens)
            #expect(try await auditCount(server) == audit)

            let other = try WireCodec.encode(CreateTokenRequest(role: .manager, scope: "site:astana", name: "another"))
            try await connection.send(call(3, RPC.AdminService.createToken, other, token: server.adminToken, key: "same-key"))
            let conflict = try await connection.nextReply()
            #expect(conflict.status.code == .alreadyExists)
            #expect(try await tokenCount(server) == tokens)

            // Revoking twice with one key: one audit entry.
            let revoke = try WireCodec.encode(RevokeTokenRequest(id: created.token?.id ?? ""))
            for callID in [4, 5] as [UInt64] {
                try await connection.send(call(callID, RPC.AdminService.revokeToken, revoke, token: server.adminToken, key: "revoke-key"))
                let reply = try await connection.nextReply()
                #expect(try WireCodec.decode(RevokeTokenResponse.self, from: reply.payload).token?.revokedAtMs ?? 0 > 0)
            }
            #expect(try await auditCount(server) == audit + 1)
            await connection.close()
        }
    }

    @Test func adminCallsWorkThroughTheClient() async throws {
        try await TestServer.with { server in
            try await server.makeSite("astana")
            let client = server.client(token: server.adminToken)
            let made = try await client.createToken(role: .coordinator, scope: "site:astana", name: "Astana planning")
            let secret = made.secret
            let coordinator = server.client(token: secret)
            let me = try await coordinator.whoAmI()
            #expect(me.role == .coordinator)
            #expect(me.scope == "site:astana")
            #expect(me.createdBy == (try await client.whoAmI().id))
            await #expect {
                try await coordinator.listTokens()
            } throws: { error in
                (error as? RPCError)?.code == .permissionDenied
            }
            // Paging walks every token once.
            for index in 0..<5 { _ = try await client.createToken(role: .admin, name: "extra \(index)") }
            var seen: [String] = []
            var page = ""
            repeat {
                let response = try await client.listTokens(pageSize: 2, pageToken: page)
                #expect(response.tokens.count <= 2)
                seen += response.tokens.map(\.id)
                page = response.nextPageToken
            } while !page.isEmpty
            #expect(seen.count == 7)
            #expect(Set(seen).count == 7)
            await #expect {
                try await client.listTokens(pageSize: 5000)
            } throws: { error in
                (error as? RPCError)?.status.details.first.flatMap { try? $0.decode(as: BadRequest.self) }?.violations.first?.field == "page_size"
            }
            _ = try await client.revokeToken(id: me.id)
            await #expect {
                try await coordinator.whoAmI()
            } throws: { error in
                (error as? RPCError)?.code == .unauthenticated
            }
            await #expect {
                try await client.revokeToken(id: "tok_nosuchtoken")
            } throws: { error in
                (error as? RPCError)?.code == .notFound
            }
            await coordinator.close()
            await client.close()
        }
    }
}
