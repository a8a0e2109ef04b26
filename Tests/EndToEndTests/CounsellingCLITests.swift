import Foundation
import SchedulerStore
import SchedulerTesting
import Testing

/// Counsellor sessions through the real server binary and `sosched`: the demo's data, a week
/// planned (dry run and saved), schedules as a grid and as iCalendar, the role walk, an
/// absence, and imports with errors reported by line.
@Suite(.timeLimit(.minutes(4)))
struct CounsellingCLITests {
    @Test(arguments: ["sqlite", "postgres"])
    func planningAWeekFromTheCommandLine(store: String) async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        var storeArguments = ["--data", data.path]
        var storeEnvironment: [String: String] = [:]
        if store == "postgres" {
            let (location, password) = try await TestPostgres.database(for: work)
            storeArguments = ["--store", location.description]
            storeEnvironment["SOSCHED_PG_PASSWORD"] = password ?? ""
        }
        let server = try Binaries.url("sosched-server")
        let demo = try await runProcess(server, ["demo"] + storeArguments, environment: storeEnvironment)
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("counselling: 6 homes"))
        func token(_ arguments: [String]) async throws -> String {
            let made = try await runProcess(server, ["token", "create"] + arguments + storeArguments, environment: storeEnvironment)
            #expect(made.status == 0, "\(made.stderr)")
            return try #require(made.stdout.split(separator: "\n").last.map(String.init))
        }
        let coordinator = try await token(["--role", "coordinator", "--scope", "site:almaty"])
        let counsellor = try await token(["--role", "counsellor", "--scope", "counsellor:almaty-c1"])
        let running = try await SpawnedServer.start(directory: data, arguments: ["--listen", "127.0.0.1:0"] + storeArguments, environment: storeEnvironment)
        func sosched(_ arguments: [String], token: String = coordinator) async throws -> ProcessResult {
            try await runProcess(try Binaries.url("sosched"), arguments, environment: ["SOSCHED_SERVER": running.address, "SOSCHED_TOKEN": token])
        }
        func ok(_ arguments: [String], token: String = coordinator) async throws -> ProcessResult {
            let result = try await sosched(arguments, token: token)
            #expect(result.status == 0, "sosched \(arguments.joined(separator: " ")): \(result.stderr)")
            return result
        }

        // A dry run as JSON: a real plan, nothing saved.
        let dry = try await ok(["plan", "week", "--site", "almaty", "--week", "2030-W02", "--dry-run", "--budget", "0.5", "--json"])
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])
        let placed = try #require(plan["placed"] as? Int)
        let demand = try #require(plan["demand"] as? Int)
        let bound = try #require(plan["upperBound"] as? Int)
        #expect(placed > 0 && placed <= bound && bound <= demand)
        #expect(plan["saved"] as? Bool == false)
        let sessions = try #require(plan["sessions"] as? [[String: Any]])
        #expect(sessions.count == placed)

        // Saved, with plain progress lines on stderr (not a terminal) and the summary on stdout.
        let saved = try await ok(["plan", "week", "--site", "almaty", "--week", "2030-W02", "--budget", "0.5"])
        #expect(saved.stderr.contains("planning: ") && !saved.stderr.contains("\u{1B}["), "\(saved.stderr)")
        #expect(saved.stdout.contains("week 2030-W02 at almaty: saved"), "\(saved.stdout)")
        #expect(saved.stdout.contains("placed \(placed) of \(demand) sessions needed"), "\(saved.stdout)")

        // The counsellor's own week as a grid, and as a calendar file.
        let grid = try await ok(["schedule", "--counsellor", "almaty-c1", "--week", "2030-W02"], token: counsellor)
        #expect(grid.stdout.contains("TIME") && grid.stdout.contains("mon 01-07") && grid.stdout.contains("almaty-y"), "\(grid.stdout)")
        let ics = work.appendingPathComponent("c1.ics")
        let exported = try await ok(["schedule", "--counsellor", "almaty-c1", "--week", "2030-W02", "--ics", ics.path], token: counsellor)
        #expect(exported.stdout.contains("wrote"))
        let calendar = try String(contentsOf: ics, encoding: .utf8)
        #expect(calendar.hasPrefix("BEGIN:VCALENDAR\r\n") && calendar.contains("TZID:Asia/Almaty") && calendar.contains("BEGIN:VEVENT"))

        // The role walk: not a colleague's schedule, not another site.
        let colleague = try await sosched(["schedule", "--counsellor", "almaty-c2", "--week", "2030-W02"], token: counsellor)
        #expect(colleague.status == 1 && colleague.stderr.contains("PERMISSION_DENIED"), "\(colleague.stderr)")
        let astana = try await sosched(["plan", "week", "--site", "astana", "--week", "2030-W02", "--dry-run"])
        #expect(astana.status == 1 && astana.stderr.contains("PERMISSION_DENIED"), "\(astana.stderr)")

        // An absence, as a dry run: what would move.
        let absence = try await ok([
            "absence", "--counsellor", "almaty-c1", "--from", "2030-01-07", "--to", "2030-01-09", "--dry-run",
        ])
        #expect(absence.stdout.contains("absence of almaty-c1") && absence.stdout.contains("dry run"), "\(absence.stdout)")

        // Imports: every bad line named at once, and nothing sent; then a good file.
        let bad = work.appendingPathComponent("young.csv")
        try Data(
            """
            id,home,name,sessions,availability,preferred
            new-1,almaty-h1,Ali,2,mon 16:00-19:00;wed 16:00-19:00,
            new-2,almaty-h1,"Bek, junior",4,mon 16:00-19:00,
            new-3,almaty-h2,Dina,1,tue 16:00-19:00,almaty-c2
            new-4,almaty-h2,Erlan,1,fri 16:10-19:00,

            """.utf8
        ).write(to: bad)
        let refused = try await sosched(["counselling", "young", "import", "--site", "almaty", "--file", bad.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("line 3: sessions '4'") && refused.stderr.contains("line 5: availability"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("line 2") && !refused.stderr.contains("line 4"), "\(refused.stderr)")
        let open = work.appendingPathComponent("open-quote.csv")
        try Data("id,name\nu-1,A\nu-2,\"B\nu-3,C\n".utf8).write(to: open)
        let unclosed = try await sosched(["counselling", "home", "import", "--site", "almaty", "--file", open.path])
        #expect(unclosed.status == 1 && unclosed.stderr.contains("line 3: a quoted field is not closed"), "\(unclosed.stderr)")
        let before = try await ok(["counselling", "young", "list", "--site", "almaty", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [Any])?.count == 12)
        let good = work.appendingPathComponent("young.jsonl")
        try Data(
            """
            {"id": "new-1", "home": "almaty-h1", "name": "Ali", "sessions": 2, "availability": ["mon 16:00-19:00", "wed 16:00-19:00"]}
            {"id": "new-2", "home": "almaty-h1", "name": "Bek, junior", "sessions": 1, "availability": "tue 16:00-19:00"}

            """.utf8
        ).write(to: good)
        let imported = try await ok(["counselling", "young", "import", "--site", "almaty", "--file", good.path])
        #expect(imported.stdout.contains("young people 2 new"), "\(imported.stdout)")
        let shown = try await ok(["counselling", "young", "show", "new-2"])
        #expect(shown.stdout.contains("Bek, junior") && shown.stdout.contains("tue 16:00-19:00"), "\(shown.stdout)")
        _ = try await running.stop()
    }
}
