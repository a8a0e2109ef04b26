import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// Mentor sessions through the real server binary and `sosched`: mentors imported (bad lines
/// named), batches from files (every bad line named and nothing sent; progress; `--json`; each
/// exit code; a re-run that books nothing twice), schedules, calendars and cancellation.
@Suite(.timeLimit(.minutes(6)))
struct MentoringCLITests {
    /// A demo server of `store` and a `sosched` that talks to it with a coordinator token of almaty.
    struct Running {
        let work: URL
        let server: SpawnedServer
        let coordinator: String

        static func start(store: String) async throws -> Running {
            let work = try TemporaryDirectory.make()
            let data = work.appendingPathComponent("var")
            var storeArguments = ["--data", data.path]
            var storeEnvironment: [String: String] = [:]
            if store == "postgres" {
                let (location, password) = try await TestPostgres.database(for: work)
                storeArguments = ["--store", location.description]
                storeEnvironment["SOSCHED_PG_PASSWORD"] = password ?? ""
            }
            let binary = try Binaries.url("sosched-server")
            let demo = try await runProcess(binary, ["demo"] + storeArguments, environment: storeEnvironment)
            #expect(demo.status == 0, "\(demo.stderr)")
            let made = try await runProcess(
                binary, ["token", "create", "--role", "coordinator", "--scope", "site:almaty"] + storeArguments, environment: storeEnvironment)
            #expect(made.status == 0, "\(made.stderr)")
            let coordinator = try #require(made.stdout.split(separator: "\n").last.map(String.init))
            let server = try await SpawnedServer.start(
                directory: data, arguments: ["--listen", "127.0.0.1:0"] + storeArguments, environment: storeEnvironment)
            return Running(work: work, server: server, coordinator: coordinator)
        }

        func sosched(_ arguments: [String], input: Data? = nil) async throws -> ProcessResult {
            try await runProcess(
                try Binaries.url("sosched"), arguments, environment: ["SOSCHED_SERVER": server.address, "SOSCHED_TOKEN": coordinator], input: input)
        }

        /// Runs and expects `status`.
        @discardableResult
        func run(_ arguments: [String], status: Int32 = 0, input: Data? = nil) async throws -> ProcessResult {
            let result = try await sosched(arguments, input: input)
            #expect(result.status == status, "sosched \(arguments.joined(separator: " ")): status \(result.status)\n\(result.stderr)\n\(result.stdout)")
            return result
        }

        /// Runs with `--json` and parses what it prints.
        func json(_ arguments: [String], status: Int32 = 0, input: Data? = nil) async throws -> Any {
            let result = try await run(arguments + ["--json"], status: status, input: input)
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        }

        /// Every mentor session of almaty still scheduled (or all, cancelled too).
        func sessions(_ filters: [String] = [], includeCancelled: Bool = false) async throws -> [[String: Any]] {
            let arguments = ["mentors", "sessions", "--site", "almaty"] + filters + (includeCancelled ? ["--include-cancelled"] : [])
            return try #require(try await json(arguments) as? [[String: Any]])
        }

        func file(_ name: String, _ text: String) throws -> String {
            let url = work.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }

        func stop() async throws {
            _ = try await server.stop()
            try? FileManager.default.removeItem(at: work)
        }
    }

    static let allWeek = (["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { "\($0) 08:00-22:00" }).joined(separator: ";")

    /// Mentors of fields the demo's own mentors do not have, so the matches here are known.
    static let mentors = """
        {"id": "m-robot", "name": "Aigul", "organisation": "Kaspi Lab", "fields": ["robotics", "it"], "capacity": 5, "availability": "\(allWeek)"}
        {"id": "m-pottery", "name": "Bolat", "fields": "pottery;crafts", "capacity": 1, "availability": "\(allWeek)", "session_minutes": 45}

        """

    @Test(arguments: ["sqlite", "postgres"])
    func mentorBatchesFromTheCommandLine(store: String) async throws {
        let running = try await Running.start(store: store)

        // Mentors: every bad line of an import named, nothing sent; then a good file.
        let mentorsBefore = try #require(try await running.json(["mentors", "list", "--site", "almaty"]) as? [Any]).count
        let badMentors = try running.file(
            "mentors.csv",
            """
            id,name,organisation,fields,capacity,availability
            m-1,Aigul,Kaspi,robotics,3,mon 09:00-21:00
            m-2,Bolat,,robotics,many,mon 09:00-21:00
            m-3,Dana,,,2,tue 09:00-21:00
            m-4,Erlan,,pottery,2,tue 09:10-21:00
            m-1,Aigul again,,it,1,

            """)
        let refusedMentors = try await running.run(["mentors", "import", "--site", "almaty", "--file", badMentors], status: 1)
        for line in 3...6 { #expect(refusedMentors.stderr.contains("line \(line): "), "\(refusedMentors.stderr)") }
        #expect(!refusedMentors.stderr.contains("line 2:") && refusedMentors.stderr.contains("nothing was sent"), "\(refusedMentors.stderr)")
        #expect(try #require(try await running.json(["mentors", "list", "--site", "almaty"]) as? [Any]).count == mentorsBefore)
        let imported = try await running.run(["mentors", "import", "--site", "almaty", "--file", try running.file("mentors.jsonl", Self.mentors)])
        #expect(imported.stdout.contains("imported mentors: 2 new"), "\(imported.stdout)")
        try await running.run([
            "mentors", "create", "--site", "almaty", "--id", "m-weld", "--name", "Chingiz", "--field", "welding", "--capacity", "1", "--availability",
            "sat 10:00-14:00",
        ])
        try await running.run(["mentors", "update", "m-weld", "--capacity", "2", "--organisation", "Steelworks"])
        let shown = try await running.run(["mentors", "show", "m-weld"])
        #expect(shown.stdout.contains("up to 2 mentee(s)") && shown.stdout.contains("Steelworks") && shown.stdout.contains("welding"), "\(shown.stdout)")
        let robotics = try #require(try await running.json(["mentors", "list", "--site", "almaty", "--field", "robotics"]) as? [[String: Any]])
        #expect(robotics.map { $0["id"] as? String } == ["m-robot"])

        // A batch file with errors on several lines: all named at once, exit 4, nothing sent.
        let sessionsBefore = try await running.sessions(includeCancelled: true).count
        let badBatch = try running.file(
            "bad-batch.csv",
            """
            young_person,fields,sessions,from,to
            almaty-y1,robotics,2,2030-01-07,2030-02-03
            almaty-y2,pottery,zero,2030-01-07,2030-02-03
            almaty-y3,robotics,1,2030-02-30,2030-03-03
            almaty-y4,robotics,1,2030-03-03,2030-02-01
            almaty-y5,,1,2030-01-07,2030-02-03
            almaty-y1,pottery,1,2030-01-07,2030-02-03
            almaty-y6,"robotics,1,2030-01-07,2030-02-03

            """)
        let refusedBatch = try await running.run(["mentors", "assign", "--site", "almaty", "--file", badBatch], status: 4)
        for (line, what) in [(3, "sessions 'zero'"), (4, "from '2030-02-30'"), (5, "is after to"), (6, "fields is empty"), (7, "on line 2"), (8, "not closed")]
        {
            #expect(refusedBatch.stderr.contains("line \(line): ") && refusedBatch.stderr.contains(what), "line \(line): \(refusedBatch.stderr)")
        }
        #expect(!refusedBatch.stderr.contains("line 2:") && refusedBatch.stderr.contains("nothing was sent"), "\(refusedBatch.stderr)")
        #expect(refusedBatch.stdout.isEmpty && !refusedBatch.stderr.contains("progress:"), "\(refusedBatch.stdout)")
        let badHeader = try running.file("header.csv", "young_person,field,sessions,from\nalmaty-y1,it,1,2030-01-07\n")
        let refusedHeader = try await running.run(["mentors", "assign", "--site", "almaty", "--file", badHeader], status: 4)
        #expect(refusedHeader.stderr.contains("line 1: unknown column 'field'") && refusedHeader.stderr.contains("line 1: the header lacks the column fields"))
        #expect(refusedHeader.stderr.contains("line 1: the header lacks the column to"), "\(refusedHeader.stderr)")
        let badLines = try running.file(
            "bad.jsonl",
            """
            {"young_person": "almaty-y1", "fields": [], "sessions": 1, "from": "2030-01-07", "to": "2030-02-03"}
            {"young_person": "almaty-y2", "fields": ["it"], "sessions": 60, "from": "2030-01-07", "to": "2031-06-03"}
            not json

            """)
        let refusedLines = try await running.run(["mentors", "assign", "--site", "almaty", "--file", badLines], status: 4)
        #expect(refusedLines.stderr.contains("line 1: fields: give at least one"), "\(refusedLines.stderr)")
        #expect(refusedLines.stderr.contains("line 2: sessions '60'") && refusedLines.stderr.contains("at most 366"), "\(refusedLines.stderr)")
        #expect(refusedLines.stderr.contains("line 3: not a JSON object"), "\(refusedLines.stderr)")
        #expect(try await running.sessions(includeCancelled: true).count == sessionsBefore)

        // Every young person matched and every session placed: exit 0, first as a dry run.
        let allPlaced = try running.file(
            "all.csv",
            """
            young_person,fields,sessions,from,to
            almaty-y1,robotics,2,2030-01-07,2030-02-03
            almaty-y2,it;Robotics,2,2030-01-07,2030-02-03
            almaty-y3,pottery,1,2030-01-07,2030-02-03

            """)
        let dry = try #require(try await running.json(["mentors", "assign", "--site", "almaty", "--file", allPlaced, "--dry-run"]) as? [String: Any])
        let dryResult = try #require(dry["result"] as? [String: Any])
        #expect(dryResult["saved"] as? Bool == false && dryResult["sessionsPlaced"] as? Int == 5, "\(dryResult)")
        #expect(try await running.sessions(includeCancelled: true).count == sessionsBefore)

        // Saved: plain progress lines on stderr (not a terminal), the summary on stdout.
        let saved = try await running.run(["mentors", "assign", "--site", "almaty", "--file", allPlaced, "--sessions"])
        let progress = saved.stderr.split(separator: "\n").filter { $0.hasPrefix("progress: ") }
        #expect(progress.count >= 2 && !saved.stderr.contains("\r") && !saved.stderr.contains("\u{1B}["), "\(saved.stderr)")
        let batch = try #require(saved.stdout.firstMatch(of: /batch (file-[0-9a-f]{20}) at almaty: saved/).map { String($0.1) }, "\(saved.stdout)")
        #expect(saved.stdout.contains("ITEMS") && saved.stdout.contains("5/5") && saved.stdout.contains("m-pottery"), "\(saved.stdout)")
        #expect(!saved.stdout.contains("not placed"), "\(saved.stdout)")
        let booked = try await running.sessions(["--batch", batch])
        #expect(booked.count == 5 && Set(booked.compactMap { $0["youngPerson"] as? String }) == ["almaty-y1", "almaty-y2", "almaty-y3"])
        #expect(booked.allSatisfy { $0["batch"] as? String == batch && $0["status"] as? String == "scheduled" })
        #expect(booked.first { $0["mentor"] as? String == "m-pottery" }?["minutes"] as? Int == 45)

        // The same file again (a cron job's second run): the saved batch answers, nothing is booked twice.
        let allSessions = try await running.sessions(includeCancelled: true).count
        let again = try #require(try await running.json(["mentors", "assign", "--site", "almaty", "--file", allPlaced]) as? [String: Any])
        let againResult = try #require(again["result"] as? [String: Any])
        #expect(againResult["replayed"] as? Bool == true && againResult["batchId"] as? String == batch, "\(againResult)")
        #expect(try await running.sessions(includeCancelled: true).count == allSessions)
        let replayed = try await running.run(["mentors", "assign", "--site", "almaty", "--file", allPlaced])
        #expect(replayed.stdout.contains("replayed"), "\(replayed.stdout)")

        // The same batch id with another file: ALREADY_EXISTS, exit 4.
        let partly = try running.file(
            "partly.csv",
            """
            young_person,fields,sessions,from,to
            almaty-y4,robotics,1,2030-01-07,2030-02-03
            almaty-y5,astronomy,1,2030-01-07,2030-02-03
            almaty-y6,pottery,2,2030-01-07,2030-02-03
            almaty-y7,robotics,3,2030-01-07,2030-01-13

            """)
        let clash = try await running.run(["mentors", "assign", "--site", "almaty", "--file", partly, "--batch-id", batch], status: 4)
        #expect(clash.stderr.contains("ALREADY_EXISTS"), "\(clash.stderr)")
        #expect(try await running.sessions(includeCancelled: true).count == allSessions)

        // Partly placed: no mentor with the field, the only mentor full, more sessions than weeks. Exit 3.
        let part = try #require(try await running.json(["mentors", "assign", "--site", "almaty", "--file", partly], status: 3) as? [String: Any])
        let result = try #require(part["result"] as? [String: Any])
        let assignments = try #require(part["assignments"] as? [[String: Any]])
        let placed = try #require(part["sessions"] as? [[String: Any]])
        let refusals = try #require(part["refusals"] as? [[String: Any]])
        #expect(result["saved"] as? Bool == true && result["items"] as? Int == 4, "\(result)")
        #expect(assignments.count == result["itemsMatched"] as? Int && placed.count == result["sessionsPlaced"] as? Int, "\(part)")
        #expect(refusals.reduce(0) { $0 + ($1["sessions"] as? Int ?? 0) } == result["sessionsRefused"] as? Int, "\(refusals)")
        #expect((result["sessionsPlaced"] as? Int ?? 0) + (result["sessionsRefused"] as? Int ?? 0) == result["sessionsRequested"] as? Int)
        #expect(result["totalFit"] as? Int == assignments.reduce(0) { $0 + ($1["fit"] as? Int ?? 0) })
        func refusal(_ person: String) -> [String: Any]? { refusals.first { $0["youngPerson"] as? String == person } }
        #expect(refusal("almaty-y5")?["reason"] as? String == "no_mentor_with_fields", "\(refusals)")
        #expect(refusal("almaty-y6")?["reason"] as? String == "mentors_full", "\(refusals)")
        #expect(refusal("almaty-y7")?["reason"] as? String == "no_shared_free_time" && refusal("almaty-y7")?["sessions"] as? Int == 2, "\(refusals)")
        let partText = try await running.run(["mentors", "assign", "--site", "almaty", "--file", partly], status: 3)
        #expect(partText.stdout.contains("not placed") && partText.stdout.contains("no mentor with these fields"), "\(partText.stdout)")

        // Standard input, JSON lines.
        let piped = try #require(
            try await running.json(
                ["mentors", "assign", "--site", "almaty", "--file", "-", "--format", "jsonl", "--dry-run"],
                input: Data(#"{"young_person": "almaty-y8", "fields": "robotics", "sessions": 1, "from": "2030-01-07", "to": "2030-01-20"}"#.utf8))
                as? [String: Any])
        #expect((piped["result"] as? [String: Any])?["batchId"] as? String != nil && (piped["sessions"] as? [Any])?.count == 1, "\(piped)")

        // Schedules: a young person's mentor sessions beside the counsellor ones; a mentor's week; a calendar.
        let first = try #require(booked.first { $0["youngPerson"] as? String == "almaty-y1" })
        let week = try #require((first["date"] as? String).flatMap(CivilDate.init(parsing:))?.isoWeekText)
        let young = try await running.run(["schedule", "--young-person", "almaty-y1", "--from", "2030-01-07", "--to", "2030-02-03"])
        #expect(young.stdout.contains("mentor m-robot to "), "\(young.stdout)")
        let mentorWeek = try await running.run(["schedule", "--mentor", "m-robot", "--week", week])
        #expect(mentorWeek.stdout.contains("mentor m-robot") && mentorWeek.stdout.contains("almaty-y1 to "), "\(mentorWeek.stdout)")
        let ics = running.work.appendingPathComponent("robot.ics")
        try await running.run([
            "mentors", "sessions", "--site", "almaty", "--mentor", "m-robot", "--from", "2030-01-01", "--to", "2030-03-01", "--ics", ics.path,
        ])
        #expect(try String(contentsOf: ics, encoding: .utf8).contains("BEGIN:VEVENT"))

        // Cancellation: one session, then the whole batch.
        let one = try #require(first["id"] as? String)
        let cancelledOne = try await running.run(["mentors", "cancel-session", "--session", one])
        #expect(cancelledOne.stdout.contains("cancelled"), "\(cancelledOne.stdout)")
        let cancelledBatch = try #require(try await running.json(["mentors", "cancel-batch", "--batch-id", batch]) as? [String: Any])
        #expect((cancelledBatch["cancelled"] as? [Any])?.count == 4, "\(cancelledBatch)")
        #expect(try await running.sessions(["--batch", batch]).isEmpty)
        #expect(try await running.sessions(["--batch", batch], includeCancelled: true).count == 5)
        // The same file after the cancellation: still the saved (now cancelled) batch, said so, and
        // not all booked (exit 3), so a cron job does not take it for success.
        let afterCancel = try await running.run(["mentors", "assign", "--site", "almaty", "--file", allPlaced], status: 3)
        #expect(afterCancel.stdout.contains("replayed") && afterCancel.stdout.contains("5 of its sessions were cancelled since"), "\(afterCancel.stdout)")
        try await running.stop()
    }

    /// What fails before any server is asked: a bad command line and a bad file exit 4 (and the
    /// file's problems come first, even with no server to send to); then no server at all.
    @Test func failuresExitFour() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let sosched = try Binaries.url("sosched")
        let environment = ["SOSCHED_SERVER": "127.0.0.1:9", "SOSCHED_TOKEN": "sos_none"]
        let missing = try await runProcess(sosched, ["mentors", "assign", "--site", "almaty"], environment: environment)
        #expect(missing.status == 4 && missing.stderr.contains("--file"), "\(missing.stderr)")
        let badID = try await runProcess(
            sosched, ["mentors", "assign", "--site", "almaty", "--file", "x.csv", "--batch-id", "no spaces"], environment: environment)
        #expect(badID.status == 4 && badID.stderr.contains("--batch-id"), "\(badID.stderr)")
        let file = work.appendingPathComponent("batch.csv")
        try Data("young_person,fields,sessions,from,to\nalmaty-y1,it,0,2030-01-07,2030-01-20\n".utf8).write(to: file)
        let bad = try await runProcess(sosched, ["mentors", "assign", "--site", "almaty", "--file", file.path], environment: environment)
        #expect(bad.status == 4 && bad.stderr.contains("line 2: sessions '0'") && !bad.stderr.contains("UNAVAILABLE"), "\(bad.stderr)")
        try Data("young_person,fields,sessions,from,to\nalmaty-y1,it,1,2030-01-07,2030-01-20\n".utf8).write(to: file)
        let unreachable = try await runProcess(
            sosched, ["mentors", "assign", "--site", "almaty", "--file", file.path, "--timeout", "5"], environment: environment)
        #expect(unreachable.status == 4 && unreachable.stderr.contains("UNAVAILABLE"), "\(unreachable.stderr)")
        // Other commands keep their code for an error.
        let other = try await runProcess(sosched, ["mentors", "list", "--site", "almaty", "--timeout", "5"], environment: environment)
        #expect(other.status == 1, "\(other.stderr)")
    }
}
