import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

#if canImport(Glibc)
    import Glibc
#endif

// `sosched plan week`, `sosched schedule`, `sosched absence`, `sosched session ...`.

func sessionStatusText(_ status: ProtoSessionStatus) -> String {
    switch status {
    case .sessionDone: "done"
    case .sessionCancelled: "cancelled"
    default: "scheduled"
    }
}

func reasonText(_ reason: ProtoUnplacedReason) -> String {
    switch reason {
    case .noQualifiedCounsellor: "no qualified counsellor"
    case .noSharedFreeTime: "no shared free time"
    case .counsellorsFull: "counsellors full"
    default: "unknown"
    }
}

func json(_ session: CounsellingSessionMessage) -> [String: Any] {
    [
        "id": session.id, "site": session.siteID, "youngPerson": session.youngPersonID, "counsellor": session.counsellorID, "home": session.homeID,
        "date": session.date, "start": session.start, "minutes": session.minutes, "status": sessionStatusText(session.status), "pinned": session.pinned,
        "sequence": session.sequence,
    ]
}

func json(_ unplaced: UnplacedSessionMessage) -> [String: Any] {
    [
        "youngPerson": unplaced.youngPersonID, "missing": unplaced.missing, "reason": reasonText(unplaced.reason), "counsellors": unplaced.counsellorIDs,
        "counsellorsInvolved": unplaced.counsellorsInvolved,
        "message": unplaced.message,
    ]
}

/// The end of a session starting at `start` ("HH:MM"), "HH:MM".
func endText(start: String, minutes: UInt32) -> String {
    TimeGrid.text((TimeGrid.minutes(parsing: start) ?? 0) + Int(minutes))
}

/// Writes the calendar `request` asks for to `path` and says so (or prints it with `--json`).
func writeCalendar(_ request: ExportCalendarRequest, to path: String, _ global: GlobalOptions) async throws {
    let calendar = try await global.nursery(RPC.CounsellingService.exportCalendar, request)
    do { try Data(calendar.calendar.utf8).write(to: URL(fileURLWithPath: path)) } catch {
        throw ValidationError("cannot write \(path): \(error.localizedDescription)")
    }
    if global.json { return try printJSONObject(["file": path, "events": calendar.events]) }
    say("wrote \(calendar.events) event(s) to \(path)")
}

/// Whether standard error is a terminal (a live progress line) or not (plain lines).
var standardErrorIsTerminal: Bool { isatty(2) == 1 }

struct PlanCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Plan counsellor sessions.", subcommands: [Week.self])

    struct Week: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Plan a site's week: every young person's sessions, within everyone's availability and limits.",
            discussion: """
                Shows the search's progress (best plan so far and the bound no plan can beat), then a summary:
                sessions placed of those needed, with the bound; the sessions that could not be placed and why;
                how many sessions keep the young person's preferred (or last) counsellor; visits; load per counsellor.
                Without --dry-run the plan replaces the week's scheduled sessions (pinned, done and cancelled stay).

                Example:
                  sosched plan week --site almaty --week 2026-W48 --dry-run
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "ISO week, e.g. 2026-W48.") var week: String
        @Flag(help: "Show the plan without saving it.") var dryRun = false
        @Option(help: "Seconds the search may run (at most 60).") var budget: Double = 2
        @Option(help: "The search's seed (the same data and seed give the same plan).") var seed: UInt64 = 1
        @Flag(name: .customLong("sessions"), help: "List every session of the week.") var listSessions = false

        func validate() throws {
            guard CivilDate(isoWeek: week) != nil else { throw ValidationError("--week must be an ISO week such as 2026-W48") }
            guard budget > 0, budget <= 60 else { throw ValidationError("--budget must be more than 0 and at most 60 seconds") }
        }

        func run() async throws {
            let terminal = standardErrorIsTerminal && !global.json
            let request = PlanWeekRequest(siteID: site, week: week, dryRun: dryRun, seed: seed, timeBudgetMs: UInt32(budget * 1000))
            var options = dryRun ? global.callOptions : global.mutationOptions
            options.timeout = .milliseconds(Int64((budget + global.timeout) * 1000))
            let (plan, sessions): (WeekPlanResultMessage, [CounsellingSessionMessage]) = try await global.withClient { client in
                var result: WeekPlanResultMessage?
                var sessions: [CounsellingSessionMessage] = []
                for try await message in try await client.stream(RPC.CounsellingService.planWeek, request, options: options) {
                    if let progress = message.progress, let best = progress.best {
                        let line =
                            "planning: \(best.placed)/\(progress.demand) placed (bound \(progress.upperBound)), continuity \(best.continuity), visits \(best.visits), \(progress.elapsedMs) ms"
                        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
                    }
                    sessions += message.sessions
                    if let plan = message.plan { result = plan }
                }
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                guard let result else { throw RPCError(Status(.internal, "the stream ended without a plan")) }
                return (result, sessions)
            }
            if global.json { return try printJSONObject(Self.json(plan, sessions)) }
            Self.summary(plan, sessions, listing: listSessions)
        }

        static func json(_ plan: WeekPlanResultMessage, _ sessions: [CounsellingSessionMessage]) -> [String: Any] {
            let score = plan.score ?? PlanScoreMessage()
            return [
                "site": plan.siteID, "week": plan.week, "saved": plan.saved, "placed": score.placed, "demand": plan.demand,
                "upperBound": plan.upperBound, "continuity": score.continuity, "continuityPossible": plan.continuityPossible, "visits": score.visits,
                "loadSquares": score.loadSquares, "kept": plan.kept, "elapsedMs": plan.elapsedMs, "sessions": sessions.map(sessionJSON),
                "unplaced": plan.unplaced.map(unplacedJSON),
            ]
        }

        static func summary(_ plan: WeekPlanResultMessage, _ sessions: [CounsellingSessionMessage], listing: Bool) {
            let score = plan.score ?? PlanScoreMessage()
            say("week \(plan.week) at \(plan.siteID): \(plan.saved ? "saved" : "dry run, nothing saved")")
            let gap = plan.upperBound > score.placed ? " (no plan can place more than \(plan.upperBound))" : " (the most any plan can place)"
            say("  placed \(score.placed) of \(plan.demand) sessions needed\(gap); \(plan.kept) pinned or done kept")
            if plan.continuityPossible > 0 {
                let rate = Double(score.continuity) * 100 / Double(plan.continuityPossible)
                say("  continuity: \(score.continuity) of \(plan.continuityPossible) with the preferred or last counsellor (\(String(format: "%.0f", rate))%)")
            }
            say("  visits: \(score.visits) (counsellor, day, home); planned in \(plan.elapsedMs) ms")
            let live = sessions.filter { $0.status != .sessionCancelled }
            let load = Dictionary(grouping: live, by: \.counsellorID).mapValues(\.count)
            if !load.isEmpty {
                say("  load: " + load.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
            if !plan.unplaced.isEmpty {
                say("  not placed:")
                printTable(
                    ["  YOUNG PERSON", "MISSING", "REASON", "COUNSELLORS"],
                    plan.unplaced.map { unplaced in
                        let more = Int(unplaced.counsellorsInvolved) - unplaced.counsellorIDs.count
                        return [
                            "  " + unplaced.youngPersonID, "\(unplaced.missing)", reasonText(unplaced.reason),
                            unplaced.counsellorIDs.joined(separator: ", ") + (more > 0 ? " and \(more) more" : ""),
                        ]
                    })
            }
            if listing {
                printTable(
                    ["DATE", "TIME", "COUNSELLOR", "YOUNG PERSON", "HOME", "STATUS"],
                    live.map {
                        [
                            $0.date, "\($0.start)-\(endText(start: $0.start, minutes: $0.minutes))", $0.counsellorID, $0.youngPersonID, $0.homeID,
                            sessionStatusText($0.status),
                        ]
                    })
            }
        }
    }
}

// Plain functions for `map` (the overloads of `json` are ambiguous there).
func sessionJSON(_ session: CounsellingSessionMessage) -> [String: Any] { json(session) }
func unplacedJSON(_ unplaced: UnplacedSessionMessage) -> [String: Any] { json(unplaced) }

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "A counsellor's, a young person's or a mentor's sessions as a week grid, or an iCalendar file.",
        discussion: """
            Days across, times down. A young person's grid holds their mentor sessions ("mentor M") beside the
            counsellor sessions. A counsellor token sees only its own schedule; a mentor's is for coordinators.
            Examples:
              sosched schedule --counsellor c-aigerim --week 2026-W48
              sosched schedule --young-person yp_x --from 2026-11-23 --to 2026-12-20
              sosched schedule --mentor m-aigul --week 2027-W03
              sosched schedule --counsellor c-aigerim --week 2026-W48 --ics aigerim.ics
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Counsellor id.") var counsellor = ""
    @Option(help: "Young person id.") var youngPerson = ""
    @Option(help: "Mentor id.") var mentor = ""
    @Option(help: "ISO week, e.g. 2026-W48.") var week: String?
    @Option(help: "First day (with --to, instead of --week).") var from: String?
    @Option(help: "Last day.") var to: String?
    @Option(help: "Write an RFC 5545 calendar of the range to this file instead.") var ics: String?
    @Flag(help: "Show cancelled sessions too.") var includeCancelled = false

    func validate() throws {
        guard [counsellor, youngPerson, mentor].filter({ !$0.isEmpty }).count == 1 else {
            throw ValidationError("give one of --counsellor, --young-person or --mentor")
        }
        if week == nil, from == nil || to == nil { throw ValidationError("give --week, or --from and --to") }
    }

    func range() throws -> (String, String) {
        if let week {
            guard let monday = CivilDate(isoWeek: week) else { throw ValidationError("--week must be an ISO week such as 2026-W48") }
            return (monday.description, monday.adding(days: 6).description)
        }
        return (try dateArgument(from ?? "", "--from"), try dateArgument(to ?? "", "--to"))
    }

    func run() async throws {
        let (first, last) = try range()
        if let ics {
            return try await writeCalendar(
                ExportCalendarRequest(counsellorID: counsellor, youngPersonID: youngPerson, from: first, to: last, mentorID: mentor), to: ics, global)
        }
        let schedule = try await global.nursery(
            RPC.CounsellingService.getSchedule,
            GetScheduleRequest(
                counsellorID: counsellor, youngPersonID: youngPerson, from: first, to: last, includeCancelled: includeCancelled, mentorID: mentor))
        if global.json {
            return try printJSONObject([
                "timeZone": schedule.timeZone, "sessions": schedule.sessions.map(sessionJSON), "mentorSessions": schedule.mentorSessions.map(mentorSessionJSON),
            ])
        }
        let who = !counsellor.isEmpty ? "counsellor \(counsellor)" : !mentor.isEmpty ? "mentor \(mentor)" : "young person \(youngPerson)"
        say("\(who), \(first) to \(last) (times in \(schedule.timeZone))")
        // Counsellor and mentor sessions alike: date, start, and the cell's text.
        typealias Entry = (date: String, start: String, text: String)
        let counselling: [Entry] = schedule.sessions.map { session in
            let other = counsellor.isEmpty ? session.counsellorID : session.youngPersonID
            let mark = session.status == .sessionCancelled ? " (cancelled)" : session.status == .sessionDone ? " (done)" : ""
            return (session.date, session.start, "\(other) to \(endText(start: session.start, minutes: session.minutes))\(mark)")
        }
        let mentoring: [Entry] = schedule.mentorSessions.map { session in
            let other = mentor.isEmpty ? "mentor \(session.mentorID)" : session.youngPersonID
            let mark = session.status == .mentorSessionCancelled ? " (cancelled)" : ""
            return (session.date, session.start, "\(other) to \(endText(start: session.start, minutes: session.minutes))\(mark)")
        }
        let entries = counselling + mentoring
        guard !entries.isEmpty else { return say("  no sessions") }
        guard let start = CivilDate(parsing: first), let end = CivilDate(parsing: last) else { return }
        // One grid per week: days across, start times down.
        var monday = start.mondayOfWeek
        while monday <= end {
            let days = (0..<7).map { monday.adding(days: $0) }
            let inWeek = entries.filter { entry in days.contains { $0.description == entry.date } }
            if !inWeek.isEmpty {
                let times = Set(inWeek.map(\.start)).sorted()
                let header = ["TIME"] + days.map { "\($0.weekday.shortName) \($0.description.suffix(5))" }
                let rows = times.map { time in
                    [time]
                        + days.map { day in
                            inWeek.filter { $0.date == day.description && $0.start == time }.map(\.text).joined(separator: " ")
                        }
                }
                say("")
                printTable(header, rows)
            }
            monday = monday.adding(days: 7)
        }
    }
}

struct AbsenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "absence", abstract: "Report a counsellor's absence: their sessions move to others or other times.",
        discussion: """
            Only the absent counsellor's sessions move, unless moving others places more. Every change is listed.
            Example:
              sosched absence --counsellor c-aigerim --from 2026-11-25 --to 2026-11-26 --dry-run
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Counsellor id.") var counsellor: String
    @Option(help: "First day away.") var from: String
    @Option(help: "Last day away.") var to: String
    @Flag(help: "Show what would move without saving.") var dryRun = false

    func run() async throws {
        let response = try await global.nursery(
            RPC.CounsellingService.reportAbsence,
            ReportAbsenceRequest(counsellorID: counsellor, from: try dateArgument(from, "--from"), to: try dateArgument(to, "--to"), dryRun: dryRun),
            change: true)
        if global.json {
            return try printJSONObject([
                "saved": response.saved, "movedOthers": response.movedOthers,
                "changes": response.changes.map { change in
                    ["before": change.before.map(sessionJSON) ?? NSNull(), "after": change.after.map(sessionJSON) ?? NSNull()] as [String: Any]
                }, "unplaced": response.unplaced.map(unplacedJSON),
            ])
        }
        say("absence of \(counsellor) from \(from) to \(to): \(response.changes.count) session(s) changed\(response.saved ? "" : " (dry run, nothing saved)")")
        if response.movedOthers { say("  other counsellors' sessions moved too, to place more") }
        func text(_ session: CounsellingSessionMessage?) -> String {
            guard let session else { return "-" }
            if session.status == .sessionCancelled { return "cancelled" }
            return "\(session.date) \(session.start)-\(endText(start: session.start, minutes: session.minutes)) \(session.counsellorID)"
        }
        if !response.changes.isEmpty {
            printTable(
                ["SESSION", "YOUNG PERSON", "BEFORE", "AFTER"],
                response.changes.map { [($0.after ?? $0.before)?.id ?? "", ($0.after ?? $0.before)?.youngPersonID ?? "", text($0.before), text($0.after)] })
        }
        for unplaced in response.unplaced { say("  not placed: \(unplaced.message)") }
    }
}

struct SessionCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session", abstract: "Change one counselling session by hand.",
        subcommands: [Reschedule.self, Cancel.self, Done.self, Pin.self])

    static func show(_ session: CounsellingSessionMessage, _ global: GlobalOptions) throws {
        if global.json { return try printJSONObject(json(session)) }
        say(
            "session \(session.id): \(session.date) \(session.start)-\(endText(start: session.start, minutes: session.minutes)), \(session.youngPersonID) with \(session.counsellorID) at \(session.homeID), "
                + "\(sessionStatusText(session.status))\(session.pinned ? ", pinned" : "")")
    }

    struct Reschedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a session (every planning rule still holds).",
            discussion: "Example:\n  sosched session reschedule ses_x --date 2026-11-26 --start 17:00 --pin")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Session id.") var id: String
        @Option(help: "New date.") var date: String
        @Option(help: "New start, HH:MM.") var start: String
        @Option(help: "Another counsellor.") var counsellor = ""
        @Flag(help: "Pin it there: planning will not move it.") var pin = false

        func run() async throws {
            try SessionCommands.show(
                try await global.nursery(
                    RPC.CounsellingService.rescheduleSession,
                    RescheduleSessionRequest(sessionID: id, date: try dateArgument(date, "--date"), start: start, counsellorID: counsellor, pin: pin),
                    change: true), global)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a session.", discussion: "Example:\n  sosched session cancel ses_x")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Session id.") var id: String

        func run() async throws {
            try SessionCommands.show(
                try await global.nursery(RPC.CounsellingService.cancelSession, CancelSessionRequest(sessionID: id), change: true), global)
        }
    }

    struct Done: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark a session done (a counsellor marks their own).", discussion: "Example:\n  sosched session done ses_x")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Session id.") var id: String

        func run() async throws {
            try SessionCommands.show(try await global.nursery(RPC.CounsellingService.markDone, MarkDoneRequest(sessionID: id), change: true), global)
        }
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pin a session (planning keeps it) or unpin it.", discussion: "Example:\n  sosched session pin ses_x\n  sosched session pin ses_x --unpin"
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Session id.") var id: String
        @Flag(help: "Unpin instead.") var unpin = false

        func run() async throws {
            try SessionCommands.show(
                try await global.nursery(RPC.CounsellingService.pinSession, PinSessionRequest(sessionID: id, pinned: !unpin), change: true), global)
        }
    }
}
