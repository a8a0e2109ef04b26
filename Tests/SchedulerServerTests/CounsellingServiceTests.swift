import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

/// `CounsellingService` through the real server, on SQLite and on PostgreSQL.
@Suite(.timeLimit(.minutes(3)))
struct CounsellingServiceTests {
    typealias C = RPC.CounsellingService
    static let week = "2030-W02"
    static let monday = CivilDate(parsing: "2030-01-07")!

    /// The week's plan: its progress messages, its summary and the week's sessions (sent in batches).
    static func plan(_ client: SchedulerClient, site: String = "almaty", dryRun: Bool, key: String? = nil, budgetMs: UInt32 = 500) async throws -> (
        progress: [PlanProgressMessage], plan: WeekPlanResultMessage, sessions: [CounsellingSessionMessage]
    ) {
        var progress: [PlanProgressMessage] = []
        var sessions: [CounsellingSessionMessage] = []
        var plan: WeekPlanResultMessage?
        let options = CallOptions(timeout: .seconds(60), idempotencyKey: key)
        for try await message in try await client.stream(
            C.planWeek, PlanWeekRequest(siteID: site, week: week, dryRun: dryRun, timeBudgetMs: budgetMs), options: options)
        {
            #expect(plan == nil, "nothing follows the plan")
            if let step = message.progress {
                #expect(sessions.isEmpty, "progress comes before the sessions")
                progress.append(step)
            }
            sessions += message.sessions
            if let result = message.plan { plan = result }
        }
        return (progress, try #require(plan), sessions)
    }

    /// The week's problem as the checker sees it, from the store's records.
    static func problem(_ store: any Store) async throws -> WeekPlanningProblem {
        let snapshot = try #require(try await store.counsellingSnapshot(siteID: "almaty", from: monday, to: monday.adding(days: 6)))
        return WeekPlanningProblem(
            monday: monday, youngPeople: snapshot.youngPeople, counsellors: snapshot.counsellors,
            kept: snapshot.sessions.map(\.session).filter { $0.pinned && $0.status != .cancelled || $0.status == .done },
            lastCounsellor: snapshot.lastCounsellor)
    }

    static func core(_ message: CounsellingSessionMessage) throws -> CounsellingSession {
        let status: SessionStatus =
            switch message.status {
            case .sessionDone: .done
            case .sessionCancelled: .cancelled
            default: .scheduled
            }
        return CounsellingSession(
            id: message.id, youngPersonID: message.youngPersonID, counsellorID: message.counsellorID, date: try #require(CivilDate(parsing: message.date)),
            start: try #require(TimeGrid.minutes(parsing: message.start)), minutes: Int(message.minutes), homeID: message.homeID, status: status,
            pinned: message.pinned)
    }

    @Test(arguments: StoreKind.all)
    func planningStreamsProgressThenThePlanAndSavesItOnce(kind: StoreKind) async throws {
        try await StoreServer.with(kind) { server in
            try await CounsellingFixture.seed(server.store)
            let coordinator = server.client(token: try await server.makeToken(role: .coordinator, scope: Scope(kind: .site, id: "almaty")))
            // A dry run: progress with the bound, then a plan that keeps every rule, and nothing stored.
            let (progress, dry, drySessions) = try await Self.plan(coordinator, dryRun: true)
            #expect(!progress.isEmpty)
            #expect(progress.allSatisfy { $0.upperBound == 5 && $0.demand == 5 })
            #expect(!dry.saved)
            #expect(dry.demand == 5 && dry.upperBound == 5 && dry.score?.placed == 5)
            let planned = try drySessions.map(Self.core)
            #expect(CounsellingChecker.violations(of: planned, in: try await Self.problem(server.store)) == [])
            #expect(
                try await server.store.sessions(
                    counsellorID: "c1", youngPersonID: nil, from: Self.monday, to: Self.monday.adding(days: 6), includeCancelled: true
                ).isEmpty)

            // Saved, then the same call again with its key: the stored plan, nothing new.
            let (_, saved, savedSessions) = try await Self.plan(coordinator, dryRun: false, key: "plan-key-1")
            #expect(saved.saved && saved.score?.placed == 5)
            let stored = try await server.store.counsellingSnapshot(siteID: "almaty", from: Self.monday, to: Self.monday.adding(days: 6))
            #expect(Set(stored?.sessions.map(\.id) ?? []) == Set(savedSessions.map(\.id)))
            // Even after the records change: the stored plan, and no search (no progress).
            _ = try await coordinator.call(
                C.updateYoungPerson,
                UpdateYoungPersonRequest(youngPerson: YoungPersonMessage(id: "yp-2", sessionsPerWeek: 3), updateMask: ["sessions_per_week"]),
                options: .mutation())
            let audit = try await server.store.auditEntries(after: 0, limit: 10_000).count
            let (replayProgress, replayed, replayedSessions) = try await Self.plan(coordinator, dryRun: false, key: "plan-key-1")
            #expect(replayed == saved)
            #expect(replayedSessions == savedSessions)
            #expect(replayProgress.isEmpty)
            #expect(try await server.store.auditEntries(after: 0, limit: 10_000).count == audit)

            // Planned again (another key): the same slots keep their ids and their sequence.
            let (_, again, againSessions) = try await Self.plan(coordinator, dryRun: false, key: "plan-key-2")
            let before = Dictionary(uniqueKeysWithValues: savedSessions.map { ($0.id, $0) })
            for session in againSessions where session.status == .sessionScheduled {
                if let old = before[session.id], old.date == session.date, old.start == session.start, old.counsellorID == session.counsellorID {
                    #expect(session.sequence == old.sequence)
                }
            }
            // yp-2 now needs three: two new sessions, and every old one's id is still in use.
            #expect(again.score?.placed == 7)
            #expect(Set(before.keys).isSubset(of: Set(againSessions.filter { $0.status == .sessionScheduled }.map(\.id))))

            // The schedules: yp-4 (needs trauma) is always with c1; yp-1 has two sessions on two days.
            let schedule = try await coordinator.call(
                C.getSchedule, GetScheduleRequest(youngPersonID: "yp-1", from: "2030-01-07", to: "2030-01-13"))
            #expect(schedule.sessions.count == 2 && Set(schedule.sessions.map(\.date)).count == 2)
            #expect(schedule.timeZone == "Asia/Almaty")
            let four = try await coordinator.call(C.getSchedule, GetScheduleRequest(youngPersonID: "yp-4", from: "2030-01-07", to: "2030-01-13"))
            #expect(four.sessions.map(\.counsellorID) == ["c1"])
            await coordinator.close()
        }
    }

    @Test(arguments: StoreKind.all)
    func rolesSeeOnlyTheirOwn(kind: StoreKind) async throws {
        try await StoreServer.with(kind) { server in
            try await CounsellingFixture.seed(server.store)
            let almaty = server.client(token: try await server.makeToken(role: .coordinator, scope: Scope(kind: .site, id: "almaty")))
            _ = try await Self.plan(almaty, dryRun: false)
            let c1 = server.client(token: try await server.makeToken(role: .counsellor, scope: Scope(kind: .counsellor, id: "c1")))
            let range = (from: "2030-01-07", to: "2030-01-13")
            let own = try await c1.call(C.getSchedule, GetScheduleRequest(counsellorID: "c1", from: range.from, to: range.to))
            #expect(!own.sessions.isEmpty && own.sessions.allSatisfy { $0.counsellorID == "c1" })
            let calendar = try await c1.call(C.exportCalendar, ExportCalendarRequest(counsellorID: "c1", from: range.from, to: range.to))
            #expect(calendar.events == UInt32(own.sessions.count))
            func denied(_ body: () async throws -> Void) async {
                await #expect { try await body() } throws: { ($0 as? RPCError)?.code == .permissionDenied }
            }
            // A counsellor: not a colleague's schedule, not a young person's, not planning.
            await denied { _ = try await c1.call(C.getSchedule, GetScheduleRequest(counsellorID: "c2", from: range.from, to: range.to)) }
            await denied { _ = try await c1.call(C.exportCalendar, ExportCalendarRequest(counsellorID: "c2", from: range.from, to: range.to)) }
            await denied { _ = try await c1.call(C.getSchedule, GetScheduleRequest(youngPersonID: "yp-1", from: range.from, to: range.to)) }
            await denied { _ = try await c1.call(C.getYoungPerson, GetYoungPersonRequest(id: "yp-1")) }
            await denied { _ = try await Self.plan(c1, dryRun: true) }
            // A colleague's session of its own (the plan may give c2 none).
            let theirs = try await CounsellingFixture.newSession(server.store, n: 1, date: Self.monday.adding(days: 2), counsellor: "c2")
            await denied { _ = try await c1.call(C.markDone, MarkDoneRequest(sessionID: theirs.id)) }
            // A coordinator of Almaty: nothing of Astana.
            await denied { _ = try await Self.plan(almaty, site: "astana", dryRun: true) }
            await denied { _ = try await almaty.call(C.getYoungPerson, GetYoungPersonRequest(id: "ya-1")) }
            await denied { _ = try await almaty.call(C.getSchedule, GetScheduleRequest(counsellorID: "a1", from: range.from, to: range.to)) }
            await denied { _ = try await almaty.call(C.listHomes, ListHomesRequest(siteID: "astana")) }
            // A manager of the site has no part in counselling.
            let manager = server.client(token: try await server.makeToken(role: .manager, scope: Scope(kind: .site, id: "almaty")))
            await denied { _ = try await manager.call(C.listHomes, ListHomesRequest(siteID: "almaty")) }
            for client in [almaty, c1, manager] { await client.close() }
        }
    }

    @Test(arguments: StoreKind.all)
    func badInputIsRefusedWithTheFieldNamedAndNothingWritten(kind: StoreKind) async throws {
        try await StoreServer.with(kind) { server in
            try await CounsellingFixture.seed(server.store)
            let admin = server.client(token: server.adminToken)
            func refused(_ field: String, _ code: StatusCode = .invalidArgument, _ body: () async throws -> Void) async {
                await #expect {
                    try await body()
                } throws: { error in
                    guard let error = error as? RPCError else { return false }
                    let violation = error.status.details.first.flatMap { try? $0.decode(as: BadRequest.self) }?.violations.first
                    return error.code == code && violation?.field == field
                }
            }
            await refused("young_person.availability[1]") {
                _ = try await admin.call(
                    C.createYoungPerson,
                    CreateYoungPersonRequest(
                        youngPerson: YoungPersonMessage(homeID: "home-1", name: "Y", availability: ["mon 16:00-19:00", "tue 16:10-19:00"], sessionsPerWeek: 1)),
                    options: .mutation())
            }
            await refused("young_person.sessions_per_week") {
                _ = try await admin.call(
                    C.createYoungPerson, CreateYoungPersonRequest(youngPerson: YoungPersonMessage(homeID: "home-1", name: "Y", sessionsPerWeek: 4)),
                    options: .mutation())
            }
            await refused("young_person.home_id", .notFound) {
                _ = try await admin.call(
                    C.createYoungPerson, CreateYoungPersonRequest(youngPerson: YoungPersonMessage(homeID: "nowhere", name: "Y", sessionsPerWeek: 1)),
                    options: .mutation())
            }
            await refused("week") {
                for try await _ in try await admin.stream(C.planWeek, PlanWeekRequest(siteID: "almaty", week: "2030-W99", dryRun: true)) {}
            }
            await refused("to") {
                _ = try await admin.call(C.getSchedule, GetScheduleRequest(counsellorID: "c1", from: "2030-01-07", to: "2029-01-01"))
            }
            // An import with one bad record: the error names it, and nothing of the import is written.
            let people = (0..<5).map { index in
                YoungPersonMessage(
                    id: "imp-\(index)", homeID: "imp-home", name: "I", availability: [index == 3 ? "fri 25:00-26:00" : "fri 10:00-12:00"], sessionsPerWeek: 1)
            }
            await refused("young_people[3].availability[0]") {
                _ = try await admin.call(
                    C.importCounselling,
                    ImportCounsellingRequest(siteID: "almaty", homes: [HomeMessage(id: "imp-home", name: "Imported")], youngPeople: people),
                    options: .mutation())
            }
            #expect(try await server.store.home(id: "imp-home") == nil)
            var fixed = people
            fixed[3].availability = ["fri 10:00-12:00"]
            fixed[4].homeID = "missing-home"
            await refused("young_people[4].home_id", .notFound) {
                _ = try await admin.call(
                    C.importCounselling,
                    ImportCounsellingRequest(siteID: "almaty", homes: [HomeMessage(id: "imp-home", name: "Imported")], youngPeople: fixed),
                    options: .mutation())
            }
            #expect(try await server.store.home(id: "imp-home") == nil)
            #expect(try await server.store.youngPerson(id: "imp-0") == nil)
            fixed[4].homeID = "imp-home"
            let done = try await admin.call(
                C.importCounselling, ImportCounsellingRequest(siteID: "almaty", homes: [HomeMessage(id: "imp-home", name: "Imported")], youngPeople: fixed),
                options: .mutation())
            #expect(done.homesCreated == 1 && done.youngPeopleCreated == 5)
            await admin.close()
        }
    }

    @Test(arguments: StoreKind.all)
    func absenceReschedulingAndTheCalendarKeepUIDsAndBumpSequences(kind: StoreKind) async throws {
        try await StoreServer.with(kind) { server in
            try await CounsellingFixture.seed(server.store)
            let admin = server.client(token: server.adminToken)
            let (_, _, saved) = try await Self.plan(admin, dryRun: false)
            let range = (from: "2030-01-07", to: "2030-01-13")
            let before = try await admin.call(C.exportCalendar, ExportCalendarRequest(counsellorID: "c1", from: range.from, to: range.to))
            let c1Sessions = saved.filter { $0.counsellorID == "c1" && $0.status == .sessionScheduled }
            let day = try #require(c1Sessions.first?.date)

            // A dry run reports what would move and changes nothing.
            let dry = try await admin.call(
                C.reportAbsence, ReportAbsenceRequest(counsellorID: "c1", from: day, to: day, dryRun: true), options: .mutation())
            let affected = c1Sessions.filter { $0.date == day }
            #expect(!dry.saved && Set(dry.changes.compactMap { $0.before?.id }).isSuperset(of: affected.map(\.id)))
            #expect(try await admin.call(C.getCounsellor, GetCounsellorRequest(id: "c1")).awayDates.isEmpty)

            let report = try await admin.call(C.reportAbsence, ReportAbsenceRequest(counsellorID: "c1", from: day, to: day), options: .mutation())
            #expect(report.saved)
            #expect(try await admin.call(C.getCounsellor, GetCounsellorRequest(id: "c1")).awayDates == [day])
            let week = try await server.store.counsellingSnapshot(siteID: "almaty", from: Self.monday, to: Self.monday.adding(days: 6))
            let now = Dictionary(uniqueKeysWithValues: (week?.sessions ?? []).map { ($0.id, $0) })
            for session in affected {
                let after = try #require(now[session.id])
                // Moved (same id) or, if nowhere to go, cancelled; never c1 on the absent day.
                #expect(after.session.status == .cancelled || !(after.session.counsellorID == "c1" && after.session.date.description == day))
                #expect(after.sequence == Int(session.sequence) + 1)
            }
            // yp-4 needs trauma and only c1 has it: its session on that day cannot stay with c1.
            #expect(report.changes.count >= affected.count)

            // Rescheduling by hand: a rule broken is refused, naming the rule; a good move bumps SEQUENCE.
            let moving = try #require(now.values.first { $0.session.status == .scheduled && $0.session.counsellorID == "c2" })
            await #expect {
                _ = try await admin.call(
                    C.rescheduleSession, RescheduleSessionRequest(sessionID: moving.id, date: moving.session.date.description, start: "21:00"),
                    options: .mutation())
            } throws: { ($0 as? RPCError)?.code == .failedPrecondition && ($0 as? RPCError)?.status.message.contains("not available") == true }
            let target = moving.session.date.adding(days: moving.session.date.weekday == .sunday ? -1 : 1)
            let taken = (week?.sessions ?? []).contains {
                $0.session.youngPersonID == moving.session.youngPersonID && $0.session.date == target && $0.session.status != .cancelled
            }
            if !taken {
                let moved = try await admin.call(
                    C.rescheduleSession, RescheduleSessionRequest(sessionID: moving.id, date: target.description, start: "19:00", pin: true),
                    options: .mutation())
                #expect(moved.sequence == UInt32(moving.sequence + 1) && moved.pinned && moved.date == target.description)
            }
            // Not into the past.
            await #expect {
                _ = try await admin.call(
                    C.rescheduleSession, RescheduleSessionRequest(sessionID: moving.id, date: "2020-01-07", start: "10:00"), options: .mutation())
            } throws: { ($0 as? RPCError)?.code == .failedPrecondition && ($0 as? RPCError)?.status.message.contains("before today") == true }
            let cancelled = try await admin.call(C.cancelSession, CancelSessionRequest(sessionID: moving.id), options: .mutation())
            #expect(cancelled.status == .sessionCancelled)

            // The calendar: the same UIDs, cancelled ones marked, SEQUENCE up for what changed.
            let after = try await admin.call(C.exportCalendar, ExportCalendarRequest(counsellorID: "c2", from: range.from, to: range.to))
            #expect(after.calendar.contains("UID:\(moving.id)@almaty.sosched"))
            #expect(after.calendar.contains("STATUS:CANCELLED"))
            #expect(before.calendar.hasPrefix("BEGIN:VCALENDAR\r\n") && before.calendar.contains("TZID:Asia/Almaty"))
            await admin.close()
        }
    }

    /// Planning the week on its Wednesday: Monday's and Tuesday's sessions stay as they are and
    /// nothing new goes on them; the absence re-plans only from today on.
    @Test(arguments: StoreKind.all)
    func daysBeforeTodayAreNotPlannedAgain(kind: StoreKind) async throws {
        let clock = Clock()
        try await StoreServer.with(kind, now: { clock.now }) { server in
            try await CounsellingFixture.seed(server.store)
            let admin = server.client(token: server.adminToken)
            clock.now = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01, before the week
            let (_, _, first) = try await Self.plan(admin, dryRun: false)
            // Wednesday 2030-01-09, 12:00 in Almaty.
            clock.now = Date(timeIntervalSince1970: 1_894_172_400)
            let past = first.filter { $0.date < "2030-01-09" }
            let (_, _, again) = try await Self.plan(admin, dryRun: false, budgetMs: 300)
            let after = Dictionary(uniqueKeysWithValues: again.map { ($0.id, $0) })
            for session in past { #expect(after[session.id] == session, "\(session.id) on \(session.date) changed") }
            #expect(again.filter { $0.date < "2030-01-09" }.count == past.count)
            let absent = try #require(first.first { $0.date < "2030-01-09" }?.counsellorID)
            let report = try await admin.call(
                C.reportAbsence, ReportAbsenceRequest(counsellorID: absent, from: "2030-01-07", to: "2030-01-13"), options: .mutation())
            #expect(report.changes.allSatisfy { ($0.before?.date ?? "9999") >= "2030-01-09" && ($0.after?.date ?? "9999") >= "2030-01-09" })
            await admin.close()
        }
    }

    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Date()
        var now: Date {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }

    @Test func cancellingARunningPlanEndsItAndSavesNothing() async throws {
        try await StoreServer.with(.sqlite) { server in
            try await CounsellingFixture.seed(server.store)
            // Enough people that the search runs for its whole budget.
            let windows = ["mon 09:00-12:00", "tue 14:00-17:00", "wed 09:00-11:00", "thu 15:00-18:00", "fri 10:00-13:00"]
            let people = (0..<400).map { index in
                YoungPerson(
                    id: "many-\(index)", homeID: index % 2 == 0 ? "home-1" : "home-2", name: "M",
                    availability: Availability(windows: [WeeklyWindow(parsing: windows[index % 5])!, WeeklyWindow(parsing: windows[(index / 5) % 5])!]),
                    sessionsPerWeek: 1 + index % 3)
            }
            let counsellors = (0..<15).map { index in
                Counsellor(
                    id: "many-c\(index)", siteID: "almaty", name: "C", availability: Availability(windows: windows.map { WeeklyWindow(parsing: $0)! }))
            }
            _ = try await server.store.importCounselling(
                siteID: "almaty", homes: [], youngPeople: people, counsellors: counsellors, context: MutationContext(actor: nil, method: "test"),
                reply: { _ in [] })
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(
                .call(
                    Call(
                        callID: 1, method: C.planWeek.path,
                        payload: try WireCodec.encode(PlanWeekRequest(siteID: "almaty", week: Self.week, timeBudgetMs: 30_000)),
                        authorization: server.adminToken, idempotencyKey: "cancel-me")))
            let first = try await connection.nextReply()
            #expect(first.status.code == .ok && !first.endOfStream)
            #expect(try WireCodec.decode(PlanWeekResponse.self, from: first.payload).progress != nil)
            let clock = ContinuousClock()
            let sent = clock.now
            try await connection.send(.cancel(callID: 1))
            var final = try await connection.nextReply()
            while !final.endOfStream { final = try await connection.nextReply() }
            #expect(final.status.code == .cancelled)
            #expect(clock.now - sent < .seconds(10))
            // Nothing saved, and the connection serves the next call.
            try await Task.sleep(for: .milliseconds(200))
            let snapshot = try await server.store.counsellingSnapshot(siteID: "almaty", from: Self.monday, to: Self.monday.adding(days: 6))
            #expect(snapshot?.sessions.isEmpty == true)
            try await connection.send(call(2, RPC.AdminService.health))
            #expect(try await connection.nextReply().status.code == .ok)
            await connection.close()
        }
    }
}
