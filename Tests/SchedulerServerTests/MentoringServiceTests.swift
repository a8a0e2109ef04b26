import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

/// `MentoringService` through the real server, on SQLite and on PostgreSQL.
@Suite(.timeLimit(.minutes(3)))
struct MentoringServiceTests {
    typealias M = RPC.MentoringService
    typealias C = RPC.CounsellingService
    static let from = "2030-01-07"
    static let to = "2030-02-03"

    /// Mentors at almaty (and one at astana), written through the RPC.
    static let mentors = [
        MentorMessage(
            id: "m-it", siteID: "almaty", organisation: "Tech club", name: "Arman", fields: ["it", "design"], capacity: 2,
            availability: ["mon 17:00-20:00", "wed 17:00-20:00"]),
        MentorMessage(id: "m-cook", siteID: "almaty", name: "Madina", fields: ["cooking"], capacity: 1, availability: ["tue 16:00-18:00"]),
        MentorMessage(
            id: "m-fin", siteID: "almaty", name: "Dana", fields: ["finance", "it"], capacity: 1, availability: ["sat 10:00-12:00"], sessionMinutes: 90),
    ]

    /// The counselling fixture, two more young people at almaty, the mentors, and a planned week
    /// of counsellor sessions inside the batch's range.
    static func seed(_ server: StoreServer) async throws -> SchedulerClient {
        try await CounsellingFixture.seed(server.store)
        let allWeek = Weekday.allCases.map { WeeklyWindow(weekday: $0, start: 8 * 60, end: 20 * 60) }
        _ = try await server.store.importCounselling(
            siteID: "almaty", homes: [],
            youngPeople: (5...6).map { YoungPerson(id: "yp-\($0)", homeID: "home-2", name: "Young \($0)", availability: Availability(windows: allWeek)) },
            counsellors: [], context: MutationContext(actor: nil, method: "test"), reply: { _ in [] })
        let coordinator = server.client(token: try await server.makeToken(role: .coordinator, scope: Scope(kind: .site, id: "almaty")))
        let imported = try await coordinator.call(M.importMentors, ImportMentorsRequest(siteID: "almaty", mentors: mentors), options: .mutation())
        #expect(imported.created == 3 && imported.replaced == 0)
        let admin = server.client(token: server.adminToken)
        _ = try await admin.call(
            M.createMentor, CreateMentorRequest(mentor: MentorMessage(id: "m-astana", siteID: "astana", name: "Aset", fields: ["it"], capacity: 5)),
            options: .mutation())
        for try await _ in try await admin.stream(
            C.planWeek, PlanWeekRequest(siteID: "almaty", week: "2030-W02", timeBudgetMs: 300), options: .mutation())
        {}
        await admin.close()
        return coordinator
    }

    static let items = [
        BatchItemMessage(youngPersonID: "yp-1", fields: ["it", "design"], sessions: 3, from: from, to: to),
        BatchItemMessage(youngPersonID: "yp-2", fields: ["cooking"], sessions: 2, from: from, to: to),
        BatchItemMessage(youngPersonID: "yp-3", fields: ["IT", "finance"], sessions: 4, from: from, to: to),
        BatchItemMessage(youngPersonID: "yp-4", fields: ["music"], sessions: 1, from: from, to: to),
        BatchItemMessage(youngPersonID: "yp-5", fields: ["cooking"], sessions: 2, from: from, to: to),
        BatchItemMessage(youngPersonID: "yp-6", fields: ["design"], sessions: 5, from: from, to: "2030-01-20"),
    ]

    struct Answer {
        var progress: [BatchProgressMessage] = []
        var assignments: [MentorAssignmentMessage] = []
        var sessions: [MentorSessionMessage] = []
        var refusals: [MentorRefusalMessage] = []
        var result: BatchAssignResultMessage?
    }

    /// A batch's whole stream, with its order checked: progress, then the parts, then the result.
    static func assign(_ client: SchedulerClient, _ items: [BatchItemMessage], batchID: String = "", dryRun: Bool) async throws -> Answer {
        var answer = Answer()
        for try await message in try await client.stream(
            M.batchAssign, BatchAssignRequest(siteID: "almaty", batchID: batchID, items: items, dryRun: dryRun), options: .mutation())
        {
            #expect(answer.result == nil, "nothing follows the result")
            if let progress = message.progress {
                #expect(answer.assignments.isEmpty && answer.sessions.isEmpty, "progress comes before the parts")
                answer.progress.append(progress)
            }
            answer.assignments += message.assignments
            answer.sessions += message.sessions
            answer.refusals += message.refusals
            if let result = message.result { answer.result = result }
        }
        return answer
    }

    /// The greatest total fit, by trying every assignment of the items to a mentor or none.
    static func bestFit(_ items: [BatchItemMessage], _ mentors: [MentorMessage]) -> Int {
        let fields = items.map { Set($0.fields.map { $0.lowercased() }) }
        var room = mentors.map { Int($0.capacity) }
        var best = 0
        func search(_ index: Int, _ total: Int) {
            guard index < items.count else {
                best = max(best, total)
                return
            }
            search(index + 1, total)
            for (m, mentor) in mentors.enumerated() where room[m] > 0 {
                let fit = fields[index].intersection(mentor.fields).count
                guard fit > 0 else { continue }
                room[m] -= 1
                search(index + 1, total + fit)
                room[m] += 1
            }
        }
        search(0, 0)
        return best
    }

    /// The rules of domain.md for the placed sessions, read from the answer and the schedules:
    /// inside both people's windows and the item's dates, one a week a pair, no clash with a
    /// counsellor session or another mentor session of either person, within capacity.
    static func violations(_ answer: Answer, counselling: [CounsellingSessionMessage]) -> [String] {
        var problems: [String] = []
        let mentors = Dictionary(uniqueKeysWithValues: Self.mentors.map { ($0.id, $0) })
        let items = Dictionary(uniqueKeysWithValues: Self.items.map { ($0.youngPersonID, $0) })
        func minutes(_ text: String) -> Int { (Int(text.prefix(2)) ?? -1) * 60 + (Int(text.suffix(2)) ?? -1) }
        let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        var weeks: Set<String> = []
        for (index, s) in answer.sessions.enumerated() {
            guard let mentor = mentors[s.mentorID], let item = items[s.youngPersonID], let date = CivilDate(parsing: s.date) else {
                problems.append("session \(s.id): unknown mentor, item or date")
                continue
            }
            let start = minutes(s.start)
            let end = start + Int(s.minutes)
            if s.minutes != (mentor.sessionMinutes == 0 ? 60 : mentor.sessionMinutes) { problems.append("\(s.id): \(s.minutes) minutes") }
            if s.date < item.from || s.date > item.to { problems.append("\(s.id) on \(s.date): outside the item's dates") }
            let day = weekdays[CounsellingChecker.isoWeekday(date) - 1]
            let inside = mentor.availability.contains { window in
                window.hasPrefix(day) && minutes(String(window.dropFirst(4).prefix(5))) <= start && end <= minutes(String(window.suffix(5)))
            }
            if !inside { problems.append("\(s.id) on \(s.date) \(s.start): outside \(mentor.id)'s windows") }
            // The fixture's young people are free 08:00-20:00 every day.
            if start < 8 * 60 || end > 20 * 60 { problems.append("\(s.id): outside the young person's time") }
            // One a week a pair: the Monday of the week, by counting back from the weekday.
            let monday = date.adding(days: 1 - CounsellingChecker.isoWeekday(date))
            if !weeks.insert("\(s.mentorID)/\(s.youngPersonID)/\(monday)").inserted { problems.append("\(s.id): a second session in the week") }
            for c in counselling where c.youngPersonID == s.youngPersonID && c.date == s.date && c.status != .sessionCancelled {
                let cStart = minutes(c.start)
                if cStart < end && start < cStart + Int(c.minutes) { problems.append("\(s.id) clashes with counsellor session \(c.id)") }
            }
            for other in answer.sessions[..<index]
            where other.date == s.date
                && (other.mentorID == s.mentorID || other.youngPersonID == s.youngPersonID)
            {
                let oStart = minutes(other.start)
                if oStart < end && start < oStart + Int(other.minutes) { problems.append("\(s.id) clashes with \(other.id)") }
            }
        }
        // Mentees at once: distinct young people (a pair kept by a second batch counts once).
        for (mentor, pairs) in Dictionary(grouping: answer.assignments, by: \.mentorID) {
            let mentees = Set(pairs.map(\.youngPersonID)).count
            if mentees > Int(mentors[mentor]?.capacity ?? 0) { problems.append("\(mentor) has \(mentees) mentees") }
        }
        return problems
    }

    @Test(arguments: StoreKind.all)
    func aBatchStreamsSavesOnceAndReplays(kind: StoreKind) async throws {
        try await StoreServer.with(kind) { server in
            let coordinator = try await Self.seed(server)
            // A dry run: progress first, the best fit, the rules kept, and nothing stored.
            let dry = try await Self.assign(coordinator, Self.items, dryRun: true)
            let dryResult = try #require(dry.result)
            #expect(!dry.progress.isEmpty && !dryResult.saved)
            #expect(dryResult.totalFit == UInt32(Self.bestFit(Self.items, Self.mentors)))
            #expect(dryResult.items == 6 && dryResult.itemsMatched == UInt32(dry.assignments.count))
            #expect(dryResult.sessionsPlaced == UInt32(dry.sessions.count))
            #expect(dryResult.sessionsPlaced + dryResult.sessionsRefused == dryResult.sessionsRequested)
            var counselling: [CounsellingSessionMessage] = []
            for person in (1...6).map({ "yp-\($0)" }) {
                counselling += try await coordinator.call(C.getSchedule, GetScheduleRequest(youngPersonID: person, from: Self.from, to: Self.to)).sessions
            }
            #expect(!counselling.isEmpty)
            #expect(Self.violations(dry, counselling: counselling) == [])
            // yp-4 wants music: nobody; yp-2 and yp-5 want cooking: one place; yp-6 has two weeks for five sessions.
            #expect(dry.refusals.contains { $0.youngPersonID == "yp-4" && $0.reason == .noMentorWithFields })
            #expect(dry.refusals.contains { $0.reason == .mentorsFull && ["yp-2", "yp-5"].contains($0.youngPersonID) })
            #expect(dry.refusals.filter { $0.youngPersonID == "yp-6" }.reduce(0) { $0 + $1.sessions } == 3)
            #expect(dry.refusals.allSatisfy { !$0.message.isEmpty })
            let listed = try await coordinator.call(M.listMentorSessions, ListMentorSessionsRequest(siteID: "almaty", includeCancelled: true))
            #expect(listed.sessions.isEmpty)

            // Saved under an id: the same plan, stored whole.
            let saved = try await Self.assign(coordinator, Self.items, batchID: "winter-2030", dryRun: false)
            let savedResult = try #require(saved.result)
            #expect(savedResult.saved && !savedResult.replayed && savedResult.totalFit == dryResult.totalFit)
            #expect(saved.assignments == dry.assignments)
            let stored = try await coordinator.call(M.listMentorSessions, ListMentorSessionsRequest(siteID: "almaty", batchID: "winter-2030"))
            #expect(Set(stored.sessions.map(\.id)) == Set(saved.sessions.map(\.id)))
            #expect(stored.sessions.allSatisfy { $0.status == .mentorSessionScheduled && $0.batchID == "winter-2030" })

            // The same batch again (in another order): the stored answer, nothing booked twice.
            let audit = try await server.store.auditEntries(after: 0, limit: 100_000).count
            let again = try await Self.assign(coordinator, Self.items.reversed(), batchID: "winter-2030", dryRun: false)
            #expect(again.result?.replayed == true && again.result?.saved == true)
            #expect(again.progress.isEmpty)
            #expect(Set(again.sessions.map(\.id)) == Set(saved.sessions.map(\.id)))
            #expect(again.assignments == saved.assignments && again.refusals == saved.refusals)
            #expect(try await server.store.auditEntries(after: 0, limit: 100_000).count == audit)
            // Other input under the same id: refused, naming the id.
            var changed = Self.items
            changed[0].sessions = 2
            await #expect {
                _ = try await Self.assign(coordinator, changed, batchID: "winter-2030", dryRun: false)
            } throws: { error in
                let status = (error as? RPCError)?.status
                return status?.code == .alreadyExists && status?.message.contains("winter-2030") == true
            }

            // A second batch sees the first one's sessions: no clash for the mentors, and capacity taken.
            // yp-1 again, as a changed file would send it: its pair keeps one session a week.
            let second = try await Self.assign(
                coordinator,
                [
                    BatchItemMessage(youngPersonID: "yp-5", fields: ["it"], sessions: 2, from: Self.from, to: Self.to),
                    BatchItemMessage(youngPersonID: "yp-1", fields: ["it", "design"], sessions: 4, from: Self.from, to: Self.to),
                ], batchID: "late", dryRun: false)
            #expect(second.assignments.contains { $0.youngPersonID == "yp-1" && $0.mentorID == "m-it" })
            var both = saved
            both.sessions += second.sessions
            both.assignments += second.assignments
            #expect(Self.violations(both, counselling: counselling) == [])

            // Planning a week with mentor sessions in it puts no counsellor session on one.
            // yp-1 now meets only when their mentor does.
            let admin = server.client(token: server.adminToken)
            _ = try await admin.call(
                C.updateYoungPerson,
                UpdateYoungPersonRequest(
                    youngPerson: YoungPersonMessage(id: "yp-1", availability: ["mon 17:00-20:00", "wed 17:00-20:00"]), updateMask: ["availability"]),
                options: .mutation())
            for try await _ in try await admin.stream(
                C.planWeek, PlanWeekRequest(siteID: "almaty", week: "2030-W03", timeBudgetMs: 300), options: .mutation())
            {}
            await admin.close()
            var replanned: [CounsellingSessionMessage] = []
            for person in (1...6).map({ "yp-\($0)" }) {
                replanned += try await coordinator.call(C.getSchedule, GetScheduleRequest(youngPersonID: person, from: Self.from, to: Self.to)).sessions
            }
            #expect(replanned.contains { $0.youngPersonID == "yp-1" && $0.date >= "2030-01-14" && $0.date <= "2030-01-20" })
            #expect(Self.violations(both, counselling: replanned) == [])

            // Schedules and calendars show mentor sessions beside counsellor sessions.
            let pairSession = try #require(saved.sessions.first { $0.youngPersonID == "yp-1" })
            let schedule = try await coordinator.call(C.getSchedule, GetScheduleRequest(youngPersonID: "yp-1", from: Self.from, to: Self.to))
            #expect(Set(schedule.mentorSessions.map(\.id)) == Set(both.sessions.filter { $0.youngPersonID == "yp-1" }.map(\.id)))
            #expect(!schedule.sessions.isEmpty)
            let mentorSchedule = try await coordinator.call(C.getSchedule, GetScheduleRequest(from: Self.from, to: Self.to, mentorID: pairSession.mentorID))
            #expect(mentorSchedule.sessions.isEmpty && mentorSchedule.mentorSessions.contains(pairSession))

            // Cancel one session, then the batch: calendars see both go.
            let cancelled = try await coordinator.call(M.cancelMentorSession, CancelMentorSessionRequest(sessionID: pairSession.id), options: .mutation())
            #expect(cancelled.status == .mentorSessionCancelled && cancelled.sequence == 1)
            let calendar = try await coordinator.call(
                C.exportCalendar, ExportCalendarRequest(from: Self.from, to: Self.to, mentorID: pairSession.mentorID))
            #expect(calendar.calendar.contains("UID:\(pairSession.id)@almaty.sosched") && calendar.calendar.contains("STATUS:CANCELLED"))
            #expect(calendar.calendar.contains("SUMMARY:Mentor session with Young 1"))
            let personCalendar = try await coordinator.call(C.exportCalendar, ExportCalendarRequest(youngPersonID: "yp-1", from: Self.from, to: Self.to))
            #expect(personCalendar.calendar.contains("Counselling session with") && personCalendar.calendar.contains("Mentor session with"))
            let batchCancel = try await coordinator.call(M.cancelBatch, CancelBatchRequest(batchID: "winter-2030"), options: .mutation())
            #expect(batchCancel.cancelled.count == saved.sessions.count - 1 && batchCancel.past == 0)
            let left = try await coordinator.call(M.listMentorSessions, ListMentorSessionsRequest(siteID: "almaty", batchID: "winter-2030"))
            #expect(left.sessions.isEmpty)
            await coordinator.close()
        }
    }

    /// The status code and the field a refusal names.
    static func refusal(_ error: any Error) -> (code: StatusCode, field: String?)? {
        guard let error = error as? RPCError else { return nil }
        let violation = error.status.details.first.flatMap { try? $0.decode(as: BadRequest.self) }?.violations.first
        return (error.code, violation?.field)
    }

    @Test(arguments: StoreKind.all)
    func badInputIsNamedAndOtherSitesStayHidden(kind: StoreKind) async throws {
        try await StoreServer.with(kind) { server in
            let coordinator = try await Self.seed(server)
            func refused(_ items: [BatchItemMessage], batchID: String = "b", dryRun: Bool = true, client: SchedulerClient? = nil) async -> (
                code: StatusCode, field: String?
            )? {
                do {
                    _ = try await Self.assign(client ?? coordinator, items, batchID: batchID, dryRun: dryRun)
                    return nil
                } catch {
                    return Self.refusal(error)
                }
            }
            let good = Self.items[0]
            var noFields = good
            noFields.youngPersonID = "yp-2"
            noFields.fields = []
            var noSessions = good
            noSessions.sessions = 0
            var backwards = good
            backwards.to = "2030-01-01"
            var past = good
            past.from = "2020-01-01"
            past.to = "2020-02-01"
            var stranger = good
            stranger.youngPersonID = "ya-1"
            let cases: [([BatchItemMessage], String, StatusCode, String)] = [
                ([], "b", .invalidArgument, "items"),
                ([good, noFields], "b", .invalidArgument, "items[1].fields"),
                ([noSessions], "b", .invalidArgument, "items[0].sessions"),
                ([backwards], "b", .invalidArgument, "items[0].to"),
                ([good, good], "b", .invalidArgument, "items[1].young_person_id"),
                ([past], "b", .invalidArgument, "items[0].to"),
                ([stranger], "b", .notFound, "items[0].young_person_id"),
                ([good], "bad id!", .invalidArgument, "batch_id"),
            ]
            for (items, batchID, code, field) in cases {
                let status = await refused(items, batchID: batchID)
                #expect(status?.code == code && status?.field == field, "\(field): \(String(describing: status))")
            }
            let unsaved = await refused([good], batchID: "", dryRun: false)
            #expect(unsaved?.code == .invalidArgument && unsaved?.field == "batch_id")

            let badMentor = await #expect(throws: RPCError.self) {
                _ = try await coordinator.call(
                    M.createMentor, CreateMentorRequest(mentor: MentorMessage(siteID: "almaty", name: "X", fields: ["it"], sessionMinutes: 50)),
                    options: .mutation())
            }
            #expect(badMentor.flatMap(Self.refusal)?.field == "mentor.session_minutes")
            let badImport = await #expect(throws: RPCError.self) {
                _ = try await coordinator.call(
                    M.importMentors,
                    ImportMentorsRequest(
                        siteID: "almaty", mentors: [Self.mentors[0], MentorMessage(id: "m-x", name: "X", fields: ["it"], availability: ["mon 9-10"])]),
                    options: .mutation())
            }
            #expect(badImport.flatMap(Self.refusal)?.field == "mentors[1].availability[0]")

            // Astana's coordinator sees nothing of almaty, and a counsellor has no mentoring rights.
            let astana = server.client(token: try await server.makeToken(role: .coordinator, scope: Scope(kind: .site, id: "astana")))
            #expect(await refused([good], client: astana)?.code == .permissionDenied)
            await #expect(throws: RPCError.self) { _ = try await astana.call(M.getMentor, GetMentorRequest(id: "m-it")) }
            await #expect(throws: RPCError.self) { _ = try await astana.call(M.listMentorSessions, ListMentorSessionsRequest(siteID: "almaty")) }
            await #expect(throws: RPCError.self) {
                _ = try await astana.call(C.getSchedule, GetScheduleRequest(from: Self.from, to: Self.to, mentorID: "m-it"))
            }
            let mentors = try await astana.call(M.listMentors, ListMentorsRequest(siteID: "astana"))
            #expect(mentors.mentors.map(\.id) == ["m-astana"])
            let counsellor = server.client(token: try await server.makeToken(role: .counsellor, scope: Scope(kind: .counsellor, id: "c1")))
            #expect(await refused([good], client: counsellor)?.code == .permissionDenied)
            await astana.close()
            await counsellor.close()
            await coordinator.close()
        }
    }

    /// A failure of the database itself half way through saving a batch: the call fails, and
    /// neither the batch nor any of its sessions is stored; once the database works again the
    /// same batch saves whole.
    @Test(arguments: StoreKind.all)
    func aStoreFailureWhileSavingLeavesNothingSaved(kind: StoreKind) async throws {
        let first = try #require(CivilDate(parsing: Self.from))
        let last = try #require(CivilDate(parsing: Self.to))
        try await StoreServer.with(kind) { server in
            let coordinator = try await Self.seed(server)
            let versionBefore = try #require(try await server.store.mentoringSnapshot(siteID: "almaty", from: first, to: last)).version
            let failure = try await InsertFailure.install(on: server.store, table: "mentor_session", whenRowsReach: 3)
            await #expect {
                _ = try await Self.assign(coordinator, Self.items, batchID: "fails", dryRun: false)
            } throws: { error in
                (error as? RPCError).map { $0.code != .ok } ?? false
            }
            #expect(try await server.store.mentorBatch(id: "fails") == nil)
            let stored = try await coordinator.call(M.listMentorSessions, ListMentorSessionsRequest(siteID: "almaty", includeCancelled: true))
            #expect(stored.sessions.isEmpty)
            #expect(try #require(try await server.store.mentoringSnapshot(siteID: "almaty", from: first, to: last)).version == versionBefore)
            try await failure.remove()
            let saved = try await Self.assign(coordinator, Self.items, batchID: "fails", dryRun: false)
            #expect(saved.result?.saved == true && saved.result?.replayed == false)
            let after = try await coordinator.call(M.listMentorSessions, ListMentorSessionsRequest(siteID: "almaty", batchID: "fails"))
            #expect(after.sessions.count == saved.sessions.count && saved.sessions.count > 3)
            await coordinator.close()
        }
    }
}
