import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// Week planning, re-planning after an absence, schedules, changes by hand and calendars.
/// Each change reads a snapshot of the site, decides in the core, and writes what it decided
/// with the snapshot's version: a site that changed meanwhile refuses the write (`ABORTED`).
struct CounsellingPlanning {
    let store: any Store

    /// Default and longest search time of `PlanWeek`.
    static let defaultBudget = Duration.milliseconds(2000)
    static let maxBudgetMs: UInt32 = 60_000
    /// At most this many progress messages a second.
    static let progressInterval = Duration.milliseconds(250)

    func register(in registry: inout HandlerRegistry) {
        registerPlanning(in: &registry)
        registerSessions(in: &registry)
        registerSchedules(in: &registry)
    }

    static func sorted(_ sessions: [StoredSession]) -> [StoredSession] {
        sessions.sorted {
            ($0.session.date, $0.session.start, $0.session.counsellorID, $0.id) < ($1.session.date, $1.session.start, $1.session.counsellorID, $1.id)
        }
    }

    /// Sessions a `PlanWeekResponse` carries at most (a frame stays far under the 4 MiB limit).
    static let sessionBatch = 1000

    static func sendSessions(_ sessions: [StoredSession], _ writer: ResponseWriter<PlanWeekResponse>) async throws {
        for start in stride(from: 0, to: sessions.count, by: sessionBatch) {
            let batch = sessions[start..<min(sessions.count, start + sessionBatch)]
            try await writer.send(PlanWeekResponse(sessions: batch.map(CounsellingSessionMessage.init)))
        }
    }

    /// Today in the site's zone, by the server's clock.
    static func today(_ context: CallContext, _ site: Site) -> CivilDate {
        CivilDate(instant: context.now(), timeZone: site.timeZone) ?? CivilDate(dayNumber: Int(context.now().timeIntervalSince1970 / 86_400))
    }

    /// The counsellors with the days from `monday` to `through` that lie before `today` as away
    /// days (for planning only, never stored): nothing new is placed in the past.
    static func closingPastDays(_ counsellors: [Counsellor], monday: CivilDate, today: CivilDate, through: CivilDate? = nil) -> [Counsellor] {
        let last = min(today.adding(days: -1), through ?? monday.adding(days: 6))
        guard last >= monday else { return counsellors }
        let past = (0...(last.dayNumber - monday.dayNumber)).map { monday.adding(days: $0) }
        return counsellors.map { counsellor in
            var closed = counsellor
            closed.availability.awayDates.formUnion(past)
            return closed
        }
    }

    /// The site's mentor sessions (not cancelled) from `from` to `to`. Read after the snapshot: a
    /// batch saved later changes the version, and the write is refused.
    static func mentorSessions(_ store: any Store, siteID: String, from: CivilDate, to: CivilDate) async throws -> [StoredMentorSession] {
        try await MentorBatches.allSessions(store, MentorSessionFilter(siteID: siteID, from: from, to: to))
    }

    /// The young people with their mentor sessions of the week of `monday` cut out of their time,
    /// so that no counsellor session is planned or moved onto one.
    static func withoutMentorSessions(_ people: [YoungPerson], _ sessions: [StoredMentorSession], week monday: CivilDate) -> [YoungPerson] {
        let sunday = monday.adding(days: 6)
        let taken = Dictionary(
            grouping: sessions.filter { $0.session.date >= monday && $0.session.date <= sunday }.map { BusyInterval(youngPersonOf: $0.session) },
            by: \.personID)
        guard !taken.isEmpty else { return people }
        return people.map { person in
            guard let busy = taken[person.id] else { return person }
            var free = person
            free.availability = person.availability.cuttingOut(busy)
            return free
        }
    }

    // MARK: PlanWeek and ReportAbsence

    private func registerPlanning(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.serverStreaming(RPC.CounsellingService.planWeek) { (request: PlanWeekRequest, context, writer) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            let monday = try Field.week(request.week, "week")
            guard request.timeBudgetMs <= Self.maxBudgetMs else {
                throw SchedulerError(.invalidArgument, "time_budget_ms is at most \(Self.maxBudgetMs)", field: "time_budget_ms")
            }
            try access.checkSite(principal, site)
            // A save replayed with its key answers the week as stored and the stored summary,
            // without searching again.
            if !request.dryRun, let stored = try await store.storedReply(for: context.mutation()) {
                let week = try await store.counsellingSnapshot(siteID: site, from: monday, to: monday.adding(days: 6))?.sessions ?? []
                try await Self.sendSessions(Self.sorted(week), writer)
                try await writer.sink.send(stored)
                return
            }
            let clock = ContinuousClock()
            let started = clock.now
            guard let snapshot = try await store.counsellingSnapshot(siteID: site, from: monday, to: monday.adding(days: 6)) else {
                throw SchedulerError(.notFound, "no site with id \(site)", field: "site_id")
            }
            // Days before today (in the site's zone) are past: their sessions stay, and nothing new goes there.
            let today = Self.today(context, snapshot.site)
            let replaceable = snapshot.sessions.filter { $0.session.status == .scheduled && !$0.session.pinned && $0.session.date >= today }
            let replaced = Set(replaceable.map(\.id))
            let stays = snapshot.sessions.filter { !replaced.contains($0.id) }
            let mentoring = try await Self.mentorSessions(store, siteID: site, from: monday, to: monday.adding(days: 6))
            let problem = WeekPlanningProblem(
                monday: monday, youngPeople: Self.withoutMentorSessions(snapshot.youngPeople, mentoring, week: monday),
                counsellors: Self.closingPastDays(snapshot.counsellors, monday: monday, today: today),
                kept: stays.map(\.session).filter { $0.status != .cancelled }, lastCounsellor: snapshot.lastCounsellor)
            let budget = request.timeBudgetMs == 0 ? Self.defaultBudget : .milliseconds(Int(request.timeBudgetMs))
            let planner = WeekPlanner(seed: request.seed == 0 ? 1 : request.seed, rounds: 1000)

            let plan = try await Self.runPlanner(planner, problem, until: started + budget) { progress in
                try await writer.send(
                    PlanWeekResponse(
                        progress: PlanProgressMessage(
                            best: PlanScoreMessage(progress.best), upperBound: UInt32(clamping: progress.upperBound), demand: UInt32(clamping: progress.demand),
                            elapsedMs: UInt32(clamping: (clock.now - started).milliseconds))))
            }

            // Planned sessions take the ids of those they replace; replaced ones left over are cancelled.
            let planned = CounsellingSession.reusingIDs(plan.sessions, from: replaceable.map(\.session))
            let old = Dictionary(uniqueKeysWithValues: replaceable.map { ($0.id, $0) })
            var written: [StoredSession] = []
            var used: Set<String> = []
            for var session in planned {
                if let before = old[session.id] {
                    used.insert(session.id)
                    written.append(
                        StoredSession(session: session, siteID: site, sequence: before.sequence + (session.differsForCalendar(from: before.session) ? 1 : 0)))
                } else {
                    session.id = RecordID.make("ses")
                    written.append(StoredSession(session: session, siteID: site))
                }
            }
            for before in replaceable where !used.contains(before.id) {
                var gone = before
                gone.session.status = .cancelled
                gone.sequence += 1
                written.append(gone)
            }
            // Young people with a preferred or last counsellor: one set, not a search per session.
            let withContinuity = Set(snapshot.youngPeople.filter { problem.continuityCounsellor(of: $0) != nil }.map(\.id))
            let possible = plan.sessions.filter { withContinuity.contains($0.youngPersonID) }.count
            let unsaved = PlanWeekResponse(
                plan: WeekPlanResultMessage(
                    siteID: site, week: monday.isoWeekText, saved: false, score: PlanScoreMessage(plan.score), demand: UInt32(clamping: plan.demand),
                    upperBound: UInt32(clamping: plan.upperBound),
                    unplaced: plan.unplaced.map(UnplacedSessionMessage.init), kept: UInt32(clamping: problem.kept.count),
                    continuityPossible: UInt32(clamping: possible), elapsedMs: UInt32(clamping: (clock.now - started).milliseconds)))
            let week = Self.sorted(stays + written)
            if request.dryRun {
                try await Self.sendSessions(week, writer)
                try await writer.send(unsaved)
                return
            }
            var saved = unsaved
            saved.plan?.saved = true
            let final = saved
            let outcome = try await store.writeCounselling(
                siteID: site, expectedVersion: snapshot.version,
                CounsellingWrite(sessions: written, records: ["week:\(site)/\(monday.isoWeekText)"]), context: context.mutation()
            ) { _ in try WireCodec.encode(final) }
            if case .replayed = outcome {
                // Saved by an earlier call with this key meanwhile: the week as it stands.
                let stored = try await store.counsellingSnapshot(siteID: site, from: monday, to: monday.adding(days: 6))?.sessions ?? []
                try await Self.sendSessions(Self.sorted(stored), writer)
            } else {
                try await Self.sendSessions(week, writer)
            }
            try await writer.sink.send(NurseryService.reply(outcome))
        }

        registry.mutating(RPC.CounsellingService.reportAbsence) { (request: ReportAbsenceRequest, context) in
            let principal = try context.requirePrincipal()
            let counsellor = try await access.counsellor(request.counsellorID, field: "counsellor_id")
            let (from, to) = try Field.range(request.from, request.to, days: 62)
            try access.checkSite(principal, counsellor.siteID)
            let site = counsellor.siteID
            let firstMonday = from.mondayOfWeek
            let lastSunday = to.mondayOfWeek.adding(days: 6)
            guard let snapshot = try await store.counsellingSnapshot(siteID: site, from: firstMonday, to: lastSunday),
                var absent = snapshot.counsellors.first(where: { $0.id == counsellor.id })
            else { throw SchedulerError(.notFound, "no counsellor with id \(counsellor.id)", field: "counsellor_id") }
            let days = Set((0...(to.dayNumber - from.dayNumber)).map { from.adding(days: $0) })
            absent.availability.awayDates.formUnion(days)
            // Only days from today on are re-planned: sessions before today stay as they are (the
            // coordinator cancels those that did not take place), and nothing moves into the past.
            let today = Self.today(context, snapshot.site)
            let counsellors = Self.closingPastDays(
                snapshot.counsellors.map { $0.id == absent.id ? absent : $0 }, monday: firstMonday, today: today, through: lastSunday)
            let stored = Dictionary(uniqueKeysWithValues: snapshot.sessions.map { ($0.id, $0) })
            let mentoring = try await Self.mentorSessions(store, siteID: site, from: firstMonday, to: lastSunday)
            var changes: [SessionChangeMessage] = []
            var written: [StoredSession] = []
            var unplaced: [UnplacedSessionMessage] = []
            var movedOthers = false
            let replanner = AbsenceReplanner()
            for monday in stride(from: firstMonday.dayNumber, through: lastSunday.dayNumber, by: 7).map(CivilDate.init(dayNumber:)) {
                let week = snapshot.sessions.filter { $0.session.date >= monday && $0.session.date < monday.adding(days: 7) }
                let weekDays = days.filter { $0 >= monday && $0 < monday.adding(days: 7) && $0 >= today }
                guard week.contains(where: { $0.session.counsellorID == absent.id && weekDays.contains($0.session.date) && $0.session.status == .scheduled })
                else { continue }
                let problem = WeekPlanningProblem(
                    monday: monday, youngPeople: Self.withoutMentorSessions(snapshot.youngPeople, mentoring, week: monday), counsellors: counsellors,
                    lastCounsellor: snapshot.lastCounsellor)
                // Past sessions are held like pinned ones.
                let current = week.map { stored in
                    var session = stored.session
                    if session.date < today { session.pinned = true }
                    return session
                }
                let replan = replanner.replan(problem, current: current, absent: absent.id, days: weekDays)
                movedOthers = movedOthers || replan.movedOthers
                unplaced += replan.unplaced.map(UnplacedSessionMessage.init)
                for change in replan.changes {
                    guard let before = stored[change.before.id] else { continue }
                    var after = before
                    if let moved = change.after {
                        after.session = moved
                    } else {
                        after.session.status = .cancelled
                    }
                    after.sequence += 1
                    written.append(after)
                    changes.append(SessionChangeMessage(before: CounsellingSessionMessage(before), after: CounsellingSessionMessage(after)))
                }
                for var session in replan.sessions where session.id.isEmpty {
                    session.id = RecordID.make("ses")
                    let new = StoredSession(session: session, siteID: site)
                    written.append(new)
                    changes.append(SessionChangeMessage(after: CounsellingSessionMessage(new)))
                }
            }
            let unsaved = ReportAbsenceResponse(changes: changes, unplaced: unplaced, movedOthers: movedOthers, saved: false)
            if request.dryRun { return try WireCodec.encode(unsaved) }
            var saved = unsaved
            saved.saved = true
            let final = saved
            return NurseryService.reply(
                try await store.writeCounselling(
                    siteID: site, expectedVersion: snapshot.version,
                    CounsellingWrite(sessions: written, counsellors: [absent], records: ["absence:\(absent.id)/\(from)..\(to)"]), context: context.mutation()
                ) { _ in try WireCodec.encode(final) })
        }
    }

    /// Runs the planner off the call's threads (`BackgroundWork`); cancelling the call stops the search.
    static func runPlanner(
        _ planner: WeekPlanner, _ problem: WeekPlanningProblem, until deadline: ContinuousClock.Instant,
        progress send: @escaping @Sendable (PlanningProgress) async throws -> Void
    ) async throws -> WeekPlan {
        try await BackgroundWork.run(
            progressEvery: progressInterval,
            { isStopped, progress in planner.plan(problem, until: deadline, isCancelled: isStopped, progress: progress) }, progress: send)
    }

    // MARK: Sessions by hand

    private func registerSessions(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        /// Reads the session's week, lets `change` decide, and writes the session it returns.
        @Sendable func change(
            _ id: String, _ context: CallContext, check: @escaping @Sendable (Principal, StoredSession) throws -> Void,
            _ decide: @escaping @Sendable (StoredSession, CounsellingSnapshot) throws -> StoredSession?
        ) async throws -> [UInt8] {
            let principal = try context.requirePrincipal()
            let current = try await access.session(id)
            try check(principal, current)
            let monday = current.session.date.mondayOfWeek
            guard let snapshot = try await store.counsellingSnapshot(siteID: current.siteID, from: monday, to: monday.adding(days: 6)),
                let fresh = snapshot.sessions.first(where: { $0.id == current.id })
            else { throw SchedulerError(.notFound, "no session with id \(id)", field: "session_id") }
            guard let decided = try decide(fresh, snapshot) else { return try WireCodec.encode(CounsellingSessionMessage(fresh)) }
            return NurseryService.reply(
                try await store.writeCounselling(
                    siteID: current.siteID, expectedVersion: snapshot.version, CounsellingWrite(sessions: [decided]), context: context.mutation()
                ) { _ in try WireCodec.encode(CounsellingSessionMessage(decided)) })
        }
        let coordinator: @Sendable (Principal, StoredSession) throws -> Void = { principal, session in try access.checkSite(principal, session.siteID) }

        registry.mutating(RPC.CounsellingService.rescheduleSession) { (request: RescheduleSessionRequest, context) in
            let date = try Field.date(request.date, "date")
            let start = try Field.time(request.start, "start")
            let newCounsellor = request.counsellorID.isEmpty ? nil : try Field.id(request.counsellorID, "counsellor_id")
            let principal = try context.requirePrincipal()
            let current = try await access.session(request.sessionID)
            try access.checkSite(principal, current.siteID)
            guard current.session.status == .scheduled else {
                throw SchedulerError(
                    .failedPrecondition, "session \(current.id) is \(current.session.status.rawValue); only a scheduled one moves", field: "session_id")
            }
            // The rules are those of the week the session moves to.
            let monday = date.mondayOfWeek
            guard let snapshot = try await store.counsellingSnapshot(siteID: current.siteID, from: monday, to: monday.adding(days: 6)) else {
                throw SchedulerError(.notFound, "no session with id \(current.id)", field: "session_id")
            }
            let today = Self.today(context, snapshot.site)
            guard date >= today else {
                throw SchedulerError(.failedPrecondition, "\(date) is before today (\(today)) at the site", field: "date")
            }
            var moved = current
            moved.session.date = date
            moved.session.start = start
            if let newCounsellor { moved.session.counsellorID = newCounsellor }
            moved.session.pinned = current.session.pinned || request.pin
            let mentoring = try await Self.mentorSessions(store, siteID: current.siteID, from: monday, to: monday.adding(days: 6))
            guard
                let person = Self.withoutMentorSessions(snapshot.youngPeople.filter { $0.id == current.session.youngPersonID }, mentoring, week: monday)
                    .first
            else {
                throw SchedulerError(.failedPrecondition, "the session's young person is no longer recorded", field: "session_id")
            }
            guard let counsellor = snapshot.counsellors.first(where: { $0.id == moved.session.counsellorID }) else {
                throw SchedulerError(.notFound, "no counsellor with id \(moved.session.counsellorID) at site \(current.siteID)", field: "counsellor_id")
            }
            moved.session.homeID = current.session.homeID
            try SessionRules.check(
                moved.session, person: person, counsellor: counsellor, others: snapshot.sessions.map(\.session),
                field: newCounsellor == nil ? "start" : "counsellor_id")
            if moved.session.differsForCalendar(from: current.session) { moved.sequence += 1 }
            let decided = moved
            return NurseryService.reply(
                try await store.writeCounselling(
                    siteID: current.siteID, expectedVersion: snapshot.version, CounsellingWrite(sessions: [decided]), context: context.mutation()
                ) { _ in try WireCodec.encode(CounsellingSessionMessage(decided)) })
        }

        registry.mutating(RPC.CounsellingService.cancelSession) { (request: CancelSessionRequest, context) in
            try await change(request.sessionID, context, check: coordinator) { session, _ in
                switch session.session.status {
                case .cancelled: return nil
                case .done: throw SchedulerError(.failedPrecondition, "session \(session.id) took place; it cannot be cancelled", field: "session_id")
                case .scheduled:
                    var cancelled = session
                    cancelled.session.status = .cancelled
                    cancelled.sequence += 1
                    return cancelled
                }
            }
        }

        registry.mutating(RPC.CounsellingService.markDone) { (request: MarkDoneRequest, context) in
            let now = context.now()
            return try await change(
                request.sessionID, context,
                check: { principal, session in
                    if principal.role == .counsellor, let scope = principal.scope, scope.kind == .counsellor, scope.id == session.session.counsellorID {
                        return
                    }
                    do { try access.checkSite(principal, session.siteID) } catch {
                        throw SchedulerError(.permissionDenied, "session \(session.id) is not one of this token's counsellor's")
                    }
                }
            ) { session, snapshot in
                switch session.session.status {
                case .done: return nil
                case .cancelled: throw SchedulerError(.failedPrecondition, "session \(session.id) was cancelled", field: "session_id")
                case .scheduled:
                    if let today = CivilDate(instant: now, timeZone: snapshot.site.timeZone), session.session.date > today {
                        throw SchedulerError(
                            .failedPrecondition, "session \(session.id) is on \(session.session.date), after today (\(today))", field: "session_id")
                    }
                    var done = session
                    done.session.status = .done
                    done.sequence += 1
                    return done
                }
            }
        }

        registry.mutating(RPC.CounsellingService.pinSession) { (request: PinSessionRequest, context) in
            try await change(request.sessionID, context, check: coordinator) { session, _ in
                guard session.session.pinned != request.pinned else { return nil }
                var pinned = session
                pinned.session.pinned = request.pinned
                return pinned
            }
        }
    }

    // MARK: Schedules and calendars

    /// Whose schedule a request asks for, after the access check.
    private enum Owner {
        case counsellor(Counsellor)
        case youngPerson(YoungPerson, siteID: String)
        case mentor(Mentor)

        var siteID: String {
            switch self {
            case .counsellor(let counsellor): counsellor.siteID
            case .youngPerson(_, let siteID): siteID
            case .mentor(let mentor): mentor.siteID
            }
        }

        var name: String {
            switch self {
            case .counsellor(let counsellor): counsellor.name
            case .youngPerson(let person, _): person.name
            case .mentor(let mentor): mentor.name
            }
        }

        func sessions(_ store: any Store, from: CivilDate, to: CivilDate, includeCancelled: Bool) async throws -> [StoredSession] {
            switch self {
            case .counsellor(let counsellor):
                try await store.sessions(counsellorID: counsellor.id, youngPersonID: nil, from: from, to: to, includeCancelled: includeCancelled)
            case .youngPerson(let person, _):
                try await store.sessions(counsellorID: nil, youngPersonID: person.id, from: from, to: to, includeCancelled: includeCancelled)
            case .mentor: []
            }
        }

        func mentorSessions(_ store: any Store, from: CivilDate, to: CivilDate, includeCancelled: Bool) async throws -> [StoredMentorSession] {
            let filter: MentorSessionFilter
            switch self {
            case .counsellor: return []
            case .youngPerson(let person, let siteID):
                filter = MentorSessionFilter(siteID: siteID, youngPersonID: person.id, from: from, to: to, includeCancelled: includeCancelled)
            case .mentor(let mentor):
                filter = MentorSessionFilter(siteID: mentor.siteID, mentorID: mentor.id, from: from, to: to, includeCancelled: includeCancelled)
            }
            return try await MentorBatches.allSessions(store, filter)
        }
    }

    private static func owner(
        counsellorID: String, youngPersonID: String, mentorID: String, principal: Principal, access: CounsellingAccess
    ) async throws -> Owner {
        switch (counsellorID.isEmpty, youngPersonID.isEmpty, mentorID.isEmpty) {
        case (false, true, true):
            let counsellor = try await access.counsellor(counsellorID, field: "counsellor_id")
            try access.checkCounsellor(principal, counsellor)
            return .counsellor(counsellor)
        case (true, false, true):
            let (person, site) = try await access.youngPerson(youngPersonID, field: "young_person_id")
            try access.checkSite(principal, site)
            return .youngPerson(person, siteID: site)
        case (true, true, false):
            let mentor = try await access.mentor(mentorID, field: "mentor_id")
            try access.checkSite(principal, mentor.siteID)
            return .mentor(mentor)
        default:
            throw SchedulerError(.invalidArgument, "give exactly one of counsellor_id, young_person_id and mentor_id", field: "counsellor_id")
        }
    }

    private func registerSchedules(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.async(RPC.CounsellingService.getSchedule) { (request: GetScheduleRequest, context) in
            let principal = try context.requirePrincipal()
            let (from, to) = try Field.range(request.from, request.to, days: 366)
            let owner = try await Self.owner(
                counsellorID: request.counsellorID, youngPersonID: request.youngPersonID, mentorID: request.mentorID, principal: principal, access: access)
            let sessions = try await owner.sessions(store, from: from, to: to, includeCancelled: request.includeCancelled)
            let mentorSessions = try await owner.mentorSessions(store, from: from, to: to, includeCancelled: request.includeCancelled)
            let zone = try await store.site(id: owner.siteID)?.timeZone ?? ""
            return GetScheduleResponse(
                sessions: sessions.map(CounsellingSessionMessage.init), timeZone: zone, mentorSessions: mentorSessions.map(MentorSessionMessage.init))
        }

        registry.async(RPC.CounsellingService.exportCalendar) { (request: ExportCalendarRequest, context) in
            let principal = try context.requirePrincipal()
            let (from, to) = try Field.range(request.from, request.to, days: 366)
            let owner = try await Self.owner(
                counsellorID: request.counsellorID, youngPersonID: request.youngPersonID, mentorID: request.mentorID, principal: principal, access: access)
            // Cancelled sessions too: a calendar application removes them.
            let sessions = try await owner.sessions(store, from: from, to: to, includeCancelled: true)
            let mentorSessions = try await owner.mentorSessions(store, from: from, to: to, includeCancelled: true)
            let site = owner.siteID
            let title: String
            if case .mentor = owner { title = "Mentoring: \(owner.name)" } else { title = "Counselling: \(owner.name)" }
            guard let zone = try await store.site(id: site)?.timeZone else { throw SchedulerError(.notFound, "no site with id \(site)") }
            // The other person's name and the home's, each read once (the id when there is none).
            var names: [String: String] = [:]
            func name(_ kind: String, _ id: String, _ read: () async throws -> String?) async throws -> String {
                if let known = names[kind + ":" + id] { return known }
                let found = try await read().flatMap { $0.isEmpty ? nil : $0 } ?? id
                names[kind + ":" + id] = found
                return found
            }
            func youngPerson(_ id: String) async throws -> String { try await name("young_person", id) { try await store.youngPerson(id: id)?.name } }
            var events: [CalendarEvent] = []
            for stored in sessions {
                let session = stored.session
                let who: String
                if case .youngPerson = owner {
                    who = try await name("counsellor", session.counsellorID) { try await store.counsellor(id: session.counsellorID)?.name }
                } else {
                    who = try await youngPerson(session.youngPersonID)
                }
                let home = try await name("home", session.homeID) { try await store.home(id: session.homeID)?.name }
                events.append(
                    CalendarEvent(
                        uid: "\(session.id)@\(site).sosched", date: session.date, start: session.start, minutes: session.minutes,
                        summary: "Counselling session with \(who)", location: home, sequence: stored.sequence, cancelled: session.status == .cancelled))
            }
            // Mentor sessions name the mentor in a young person's calendar and the young person in
            // a mentor's. They have no place of their own.
            for stored in mentorSessions {
                let session = stored.session
                let who: String
                if case .mentor = owner {
                    who = try await youngPerson(session.youngPersonID)
                } else {
                    who = try await name("mentor", session.mentorID) { try await store.mentor(id: session.mentorID)?.name }
                }
                events.append(
                    CalendarEvent(
                        uid: "\(session.id)@\(site).sosched", date: session.date, start: session.start, minutes: session.minutes,
                        summary: "Mentor session with \(who)", location: "", sequence: stored.sequence, cancelled: stored.status == .cancelled))
            }
            let calendar = try ICalendarWriter.calendar(name: title, timeZone: zone, events: events, stamp: context.now())
            return ExportCalendarResponse(calendar: calendar, events: UInt32(events.count))
        }
    }
}
