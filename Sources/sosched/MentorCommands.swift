import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

// `sosched mentors ...`: mentors, batches of mentor sessions, the sessions and their cancellation.

struct MentorCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mentors", abstract: "Mentors and their sessions: records, batch assignment from a file, sessions, cancellation.",
        discussion: """
            Mentors come from businesses and trades. A batch (`mentors assign`)
            matches young people to mentors by their fields (it, finance, crafts,
            cooking, ...) and places the sessions in shared free time. Fields are
            lower-case words; availability windows are "mon 16:00-19:00" (15-minute
            grid), as for counsellors. Import and batch files are CSV (a header
            line first) or JSON lines; every error in a file is reported with its
            line number before anything is sent.

            Examples:
              sosched mentors create --site almaty --id m-aigul --name Aigul \\
                  --field it --field finance --capacity 3 --availability "mon 16:00-19:00"
              sosched mentors import --site almaty --file mentors.csv
              sosched mentors assign --site almaty --file batch.csv --dry-run
              sosched mentors sessions --site almaty --mentor m-aigul
              sosched mentors cancel-batch --batch-id file-3f9a0c1d2e4b5a6c7d8e
            """,
        subcommands: [
            Create.self, List.self, Show.self, Update.self, Import.self, MentorAssign.self, Sessions.self, CancelBatch.self, CancelSession.self,
        ])

    static func show(_ mentor: MentorMessage, _ global: GlobalOptions) throws {
        if global.json { return try printJSONObject(json(mentor)) }
        let organisation = mentor.organisation.isEmpty ? "" : " (\(mentor.organisation))"
        say("mentor \(mentor.id): \(mentor.name)\(organisation), site \(mentor.siteID)")
        say("  fields: \(mentor.fields.joined(separator: ", "))")
        say("  up to \(mentor.capacity) mentee(s); sessions of \(mentor.sessionMinutes) minutes")
        say("  available: \(mentor.availability.isEmpty ? "never" : mentor.availability.joined(separator: ", "))")
        if !mentor.awayDates.isEmpty { say("  away: \(mentor.awayDates.joined(separator: ", "))") }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a mentor to a site.",
            discussion: """
                Example:
                  sosched mentors create --site almaty --id m-aigul --name Aigul --organisation "Kaspi" --field it --field finance --capacity 3 --availability "mon 16:00-19:00"
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "Name for people.") var name: String
        @Option(help: "Identifier (default: the server makes one).") var id = ""
        @Option(help: "The company or group the mentor comes from.") var organisation = ""
        @Option(help: "A field such as it, finance, crafts, cooking; repeat for more.") var field: [String] = []
        @Option(help: "How many mentees at once (0 to 10000; 0 takes no new mentees).") var capacity: UInt32
        @Option(help: "A weekly window, e.g. \"mon 16:00-19:00\"; repeat for more.") var availability: [String] = []
        @Option(help: "A date the mentor cannot meet; repeat for more.") var away: [String] = []
        @Option(help: "Minutes a session (15 to 240, 15-minute grid).") var sessionMinutes: UInt32 = 60

        func validate() throws { if field.isEmpty { throw ValidationError("give at least one --field, such as --field it") } }

        func run() async throws {
            let mentor = MentorMessage(
                id: id, siteID: site, organisation: organisation, name: name, fields: field, capacity: capacity,
                availability: try windowsArgument(availability, "--availability"), awayDates: try away.map { try dateArgument($0, "--away") },
                sessionMinutes: sessionMinutes)
            try MentorCommands.show(try await global.nursery(RPC.MentoringService.createMentor, CreateMentorRequest(mentor: mentor), change: true), global)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a site's mentors (--field: only those with that field).", discussion: "Example:\n  sosched mentors list --site almaty --field it")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "Only mentors with this field.") var field = ""

        func run() async throws {
            let mentors = try await global.all { token in
                let page = try await global.nursery(
                    RPC.MentoringService.listMentors, ListMentorsRequest(siteID: site, field: field, pageSize: 500, pageToken: token))
                return (page.mentors, page.nextPageToken)
            }
            if global.json { return try printJSONObject(mentors.map(json)) }
            if mentors.isEmpty { return say("no mentors") }
            printTable(
                ["ID", "NAME", "ORGANISATION", "FIELDS", "MENTEES", "MINUTES", "AVAILABLE"],
                mentors.map {
                    [
                        $0.id, $0.name, $0.organisation, $0.fields.joined(separator: ", "), "\($0.capacity)", "\($0.sessionMinutes)",
                        $0.availability.joined(separator: ", "),
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a mentor.", discussion: "Example:\n  sosched mentors show m-aigul")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Mentor id.") var id: String

        func run() async throws { try MentorCommands.show(try await global.nursery(RPC.MentoringService.getMentor, GetMentorRequest(id: id)), global) }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a mentor's record (only the options given).",
            discussion: "Example:\n  sosched mentors update m-aigul --capacity 5 --availability \"tue 17:00-19:00\"")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Mentor id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "New organisation (\"\" for none).") var organisation: String?
        @Option(help: "Replaces all fields; repeat for more.") var field: [String] = []
        @Option(help: "How many mentees at once.") var capacity: UInt32?
        @Option(help: "Replaces all windows; repeat for more.") var availability: [String] = []
        @Option(help: "Replaces all away dates; repeat for more.") var away: [String] = []
        @Flag(help: "Clear the away dates.") var clearAway = false
        @Option(help: "Minutes a session.") var sessionMinutes: UInt32?

        func run() async throws {
            var message = MentorMessage(id: id)
            var mask: [String] = []
            if let name { (message.name, mask) = (name, mask + ["name"]) }
            if let organisation { (message.organisation, mask) = (organisation, mask + ["organisation"]) }
            if !field.isEmpty { (message.fields, mask) = (field, mask + ["fields"]) }
            if let capacity { (message.capacity, mask) = (capacity, mask + ["capacity"]) }
            if !availability.isEmpty { (message.availability, mask) = (try windowsArgument(availability, "--availability"), mask + ["availability"]) }
            if !away.isEmpty || clearAway { (message.awayDates, mask) = (try away.map { try dateArgument($0, "--away") }, mask + ["away_dates"]) }
            if let sessionMinutes { (message.sessionMinutes, mask) = (sessionMinutes, mask + ["session_minutes"]) }
            guard !mask.isEmpty else { throw ValidationError("give at least one option to change") }
            try MentorCommands.show(
                try await global.nursery(RPC.MentoringService.updateMentor, UpdateMentorRequest(mentor: message, updateMask: mask), change: true), global)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or replace a site's mentors from a file, all or none.",
            discussion: """
                CSV header:
                  \(columns.joined(separator: ","))
                id, name, fields and capacity required; lists separated by ';'
                ("it;finance", "mon 16:00-19:00;wed 16:00-19:00"); capacity 0 to
                10000; session_minutes 15 to 240 on the 15-minute grid (default 60).
                Or JSON lines with the same keys (lists as arrays or ';' text). The
                format is --format, else the file's extension (.csv, .jsonl,
                .ndjson), else CSV; --file - reads standard input. Every bad line is
                reported with its number, and nothing is sent unless all are good.

                Example:
                  sosched mentors import --site almaty --file mentors.csv
                """)
        static let columns = ["id", "name", "organisation", "fields", "capacity", "availability", "away", "session_minutes"]
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "CSV or JSON lines file ('-' for standard input).") var file: String
        @Option(help: "csv or jsonl (default: from the file's extension, else csv).") var format: ImportFormat?

        func run() async throws {
            let mentors = try ImportFile.read(
                file, format: ImportFormat.resolve(format, path: file), columns: Self.columns, required: ["id", "name", "fields", "capacity"],
                unique: ("mentor", { $0.id })
            ) { (row: ImportRow) -> MentorMessage in
                MentorMessage(
                    id: row.id("id"), siteID: site, organisation: row.raw("organisation"), name: row.text("name"),
                    fields: row.words("fields", most: MentorBatch.maxFields), capacity: row.number("capacity", 0...UInt32(MentorBatch.maxCapacity)),
                    availability: row.windows("availability"), awayDates: row.dates("away"), sessionMinutes: row.minutes("session_minutes"))
            }
            let result = try await global.nursery(
                RPC.MentoringService.importMentors, ImportMentorsRequest(siteID: site, mentors: mentors), change: true)
            if global.json { return try printJSONObject(["created": result.created, "replaced": result.replaced]) }
            say("imported mentors: \(result.created) new, \(result.replaced) replaced")
        }
    }

    struct Sessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A site's mentor sessions, by mentor, young person, batch and dates; or a calendar file.",
            discussion: """
                With --ics, writes the RFC 5545 calendar of the mentor (or of the
                young person, with their counsellor sessions) over --from..--to (at
                most 366 days) to the file, for calendar applications.

                Examples:
                  sosched mentors sessions --site almaty --batch file-3f9a0c1d2e4b5a6c7d8e
                  sosched mentors sessions --site almaty --mentor m-aigul --from 2027-01-01 --to 2027-03-31 --ics aigul.ics
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "Only this mentor's.") var mentor = ""
        @Option(help: "Only this young person's.") var youngPerson = ""
        @Option(help: "Only this batch's.") var batch = ""
        @Option(help: "First day (YYYY-MM-DD or an ISO week).") var from: String?
        @Option(help: "Last day.") var to: String?
        @Flag(help: "Show cancelled sessions too.") var includeCancelled = false
        @Option(help: "Write the mentor's (or young person's) calendar over --from..--to to this file instead.") var ics: String?

        func validate() throws {
            guard ics != nil else { return }
            guard mentor.isEmpty != youngPerson.isEmpty else { throw ValidationError("--ics needs --mentor or --young-person (one of them)") }
            guard from != nil, to != nil else { throw ValidationError("--ics needs --from and --to (at most 366 days)") }
        }

        func run() async throws {
            let first = try from.map { try dateArgument($0, "--from") } ?? ""
            let last = try to.map { try dateArgument($0, "--to") } ?? ""
            if let ics {
                return try await writeCalendar(ExportCalendarRequest(youngPersonID: youngPerson, from: first, to: last, mentorID: mentor), to: ics, global)
            }
            let sessions = try await global.all { token in
                let page = try await global.nursery(
                    RPC.MentoringService.listMentorSessions,
                    ListMentorSessionsRequest(
                        siteID: site, mentorID: mentor, youngPersonID: youngPerson, batchID: batch, from: first, to: last,
                        includeCancelled: includeCancelled, pageSize: 1000, pageToken: token))
                return (page.sessions, page.nextPageToken)
            }
            if global.json { return try printJSONObject(sessions.map(mentorSessionJSON)) }
            if sessions.isEmpty { return say("no mentor sessions") }
            printMentorSessions(sessions)
        }
    }

    struct CancelBatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel-batch", abstract: "Cancel a batch's sessions dated today or later (earlier ones stay as they were).",
            discussion: "Example:\n  sosched mentors cancel-batch --batch-id file-3f9a0c1d2e4b5a6c7d8e")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The batch's id, as `mentors assign` printed it.") var batchId: String

        func run() async throws {
            let response = try await global.nursery(RPC.MentoringService.cancelBatch, CancelBatchRequest(batchID: batchId), change: true)
            if global.json {
                return try printJSONObject(["batchId": batchId, "cancelled": response.cancelled.map(mentorSessionJSON), "past": response.past])
            }
            say("batch \(batchId): \(response.cancelled.count) session(s) cancelled; \(response.past) before today left as they were")
            if !response.cancelled.isEmpty { printMentorSessions(response.cancelled) }
        }
    }

    struct CancelSession: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel-session", abstract: "Cancel one mentor session.",
            discussion: "Example:\n  sosched mentors cancel-session --session mses_4m2k9x7q1d3e")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The session's id (mses_...).") var session: String

        func run() async throws {
            let cancelled = try await global.nursery(
                RPC.MentoringService.cancelMentorSession, CancelMentorSessionRequest(sessionID: session), change: true)
            if global.json { return try printJSONObject(json(cancelled)) }
            say(
                "mentor session \(cancelled.id): \(cancelled.date) \(cancelled.start)-\(endText(start: cancelled.start, minutes: cancelled.minutes)), \(cancelled.youngPersonID) with \(cancelled.mentorID), "
                    + mentorSessionStatusText(cancelled.status))
        }
    }
}

extension ImportRow {
    /// A session length: 15 to 240 minutes on the 15-minute grid; empty gives 60.
    func minutes(_ key: String) -> UInt32 {
        let minutes = number(key, 15...240, default: 60)
        if minutes % UInt32(TimeGrid.minutes) != 0 { problem("\(key) '\(minutes)' is not on the 15-minute grid") }
        return minutes
    }
}

func json(_ mentor: MentorMessage) -> [String: Any] {
    [
        "id": mentor.id, "site": mentor.siteID, "organisation": mentor.organisation, "name": mentor.name, "fields": mentor.fields,
        "capacity": mentor.capacity, "availability": mentor.availability, "awayDates": mentor.awayDates, "sessionMinutes": mentor.sessionMinutes,
    ]
}

func json(_ session: MentorSessionMessage) -> [String: Any] {
    [
        "id": session.id, "site": session.siteID, "mentor": session.mentorID, "youngPerson": session.youngPersonID, "date": session.date,
        "start": session.start, "end": endText(start: session.start, minutes: session.minutes), "minutes": session.minutes, "batch": session.batchID,
        "status": mentorSessionStatusText(session.status), "sequence": session.sequence,
    ]
}

// A plain function for `map` (the overloads of `json` are ambiguous there).
func mentorSessionJSON(_ session: MentorSessionMessage) -> [String: Any] { json(session) }

func mentorSessionStatusText(_ status: ProtoMentorSessionStatus) -> String { status == .mentorSessionCancelled ? "cancelled" : "scheduled" }

/// Mentor sessions as a table, in the order given.
func printMentorSessions(_ sessions: [MentorSessionMessage]) {
    printTable(
        ["DATE", "TIME", "MENTOR", "YOUNG PERSON", "BATCH", "STATUS", "SESSION"],
        sessions.map {
            [
                $0.date, "\($0.start)-\(endText(start: $0.start, minutes: $0.minutes))", $0.mentorID, $0.youngPersonID, $0.batchID,
                mentorSessionStatusText($0.status), $0.id,
            ]
        })
}
