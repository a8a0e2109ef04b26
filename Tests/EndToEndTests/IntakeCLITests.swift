import Foundation
import SchedulerStore
import SchedulerTesting
import Testing

/// An intake round through the real server and `sosched intake`, applications imported from CSV.
@Suite(.timeLimit(.minutes(3)))
struct IntakeCLITests {
    /// On SQLite, and on the test run's PostgreSQL server.
    @Test(arguments: ["sqlite", "postgres"])
    func aRoundFromOffersToExplanations(store: String) async throws {
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
        let made = try await runProcess(server, ["token", "create", "--role", "admin"] + storeArguments, environment: storeEnvironment)
        let token = try #require(made.stdout.split(separator: "\n").last.map(String.init))
        let running = try await SpawnedServer.start(directory: data, arguments: ["--listen", "127.0.0.1:0"] + storeArguments, environment: storeEnvironment)
        let env = ["SOSCHED_SERVER": running.address, "SOSCHED_TOKEN": token]
        func sosched(_ arguments: [String], token: String? = nil) async throws -> ProcessResult {
            var environment = env
            if let token { environment["SOSCHED_TOKEN"] = token }
            return try await runProcess(try Binaries.url("sosched"), arguments, environment: environment)
        }
        func ok(_ arguments: [String]) async throws -> String {
            let result = try await sosched(arguments)
            #expect(result.status == 0, "sosched \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout
        }
        func id(_ text: String) throws -> String {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
            return try #require(object["id"] as? String)
        }

        _ = try await ok(["site", "create", "--id", "almaty", "--name", "Almaty", "--time-zone", "Asia/Almaty"])
        _ = try await ok(["nursery", "create", "--id", "almaty-1", "--site", "almaty", "--name", "Village nursery"])
        _ = try await ok(["site", "create", "--id", "astana", "--name", "Astana", "--time-zone", "Asia/Almaty"])
        let astana = try await runProcess(
            server, ["token", "create", "--role", "manager", "--scope", "site:astana"] + storeArguments, environment: storeEnvironment)
        let astanaToken = try #require(astana.stdout.split(separator: "\n").last.map(String.init))
        _ = try await ok(["group", "create", "--id", "toddlers", "--nursery", "almaty-1", "--name", "Toddlers", "--ages", "12-48", "--capacity", "3"])
        let sos = try id(try await ok(["family", "register", "--site", "almaty", "--kind", "sos", "--json"]))
        let working = try id(try await ok(["family", "register", "--site", "almaty", "--kind", "local", "--parents-working", "--json"]))
        let other = try id(try await ok(["family", "register", "--site", "almaty", "--kind", "local", "--json"]))
        var children: [String: String] = [:]
        for (name, family, special) in [("Sana", sos, false), ("Arman", working, false), ("Aruzhan", working, false), ("Bekzat", other, true)] {
            var arguments = ["child", "register", "--family", family, "--name", name, "--born", "2025-03-15", "--json"]
            if special { arguments.append("--special-needs") }
            children[name] = try id(try await ok(arguments))
        }

        let created = try await ok([
            "intake", "create", "--id", "autumn", "--site", "almaty", "--from", "2027-09-01", "--to", "2028-05-31", "--deadline", "2027-08-01", "--seed", "7",
        ])
        #expect(created.contains("created round autumn"))
        _ = try await ok([
            "intake", "offer", "--round", "autumn", "--id", "full", "--group", "toddlers", "--pattern", "mon-fri:full", "--places", "2", "--reserved-sos", "1",
        ])
        _ = try await ok(["intake", "offer", "--round", "autumn", "--id", "am", "--group", "toddlers", "--pattern", "mon-fri:am", "--places", "1"])
        // Three places a session: two more afternoons would not fit with the two full days.
        let tooMany = try await sosched([
            "intake", "offer", "--round", "autumn", "--id", "more", "--group", "toddlers", "--pattern", "mon-fri:pm", "--places", "2",
        ])
        #expect(tooMany.status != 0)
        #expect(tooMany.stderr.contains("FAILED_PRECONDITION") && tooMany.stderr.contains("offer.places"), "\(tooMany.stderr)")

        let csv = work.appendingPathComponent("applications.csv")
        try Data(
            """
            child_id,choice1,choice2
            \(children["Sana"]!),full,
            \(children["Arman"]!),full,am
            \(children["Aruzhan"]!),full,am
            \(children["Bekzat"]!),full,

            """.utf8
        ).write(to: csv)
        let imported = try await sosched(["intake", "import", "--round", "autumn", "--file", csv.path])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("submitted 4 applications"))
        #expect(imported.stderr.contains("submitted 4/4"))
        let badCSV = work.appendingPathComponent("bad.csv")
        try Data("child,first\nx,y\n".utf8).write(to: badCSV)
        let refusedCSV = try await sosched(["intake", "import", "--round", "autumn", "--file", badCSV.path])
        #expect(refusedCSV.status != 0)
        #expect(refusedCSV.stderr.contains("child_id,choice1"))

        let dry = try await ok(["intake", "run", "--round", "autumn", "--dry-run"])
        #expect(dry.contains("dry run: would place 3 of 4 children"))
        // Applications are taken until August 2027: a real run now must say it closes the round early.
        let early = try await sosched(["intake", "run", "--round", "autumn"])
        #expect(early.status != 0)
        #expect(early.stderr.contains("FAILED_PRECONDITION") && early.stderr.contains("close_early"), "\(early.stderr)")
        let ran = try await ok(["intake", "run", "--round", "autumn", "--close-early"])
        #expect(ran.contains("placed 3 of 4 children"))
        let again = try await sosched(["intake", "run", "--round", "autumn", "--close-early"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already run"))

        // Bekzat (special needs) takes the open full-day place, Sana the place reserved for SOS
        // families; Arman and Aruzhan tie on everything but the lottery for the one morning place.
        let resultsJSON = try #require(
            try JSONSerialization.jsonObject(with: Data(try await ok(["intake", "results", "--round", "autumn", "--json"]).utf8)) as? [String: Any])
        let results = try #require(resultsJSON["results"] as? [[String: Any]])
        func result(_ name: String) -> [String: Any]? { results.first { $0["childId"] as? String == children[name] } }
        #expect(result("Bekzat")?["offerId"] as? String == "full" && result("Bekzat")?["seat"] as? String == "open")
        #expect(result("Sana")?["offerId"] as? String == "full" && result("Sana")?["seat"] as? String == "reserved_sos")
        let morning = [result("Arman"), result("Aruzhan")].compactMap { $0 }.filter { $0["offerId"] as? String == "am" }
        #expect(morning.count == 1)
        let loserName = result("Arman")?["offerId"] as? String == "am" ? "Aruzhan" : "Arman"
        let loser = try #require(children[loserName])
        let table = try await ok(["intake", "results", "--round", "autumn"])
        #expect(table.contains("no place"))

        let waitlist = try await ok(["intake", "waitlist", "--round", "autumn", "--offer", "am"])
        #expect(waitlist.contains(loser))
        let explained = try await ok(["intake", "explain", "--round", "autumn", "--child", loser, "--offer", "full"])
        #expect(explained.contains(loserName))
        #expect(explained.contains("special needs"))
        #expect(explained.contains("reserved for SOS families"))
        // No other child is named.
        for (name, childID) in children where name != loserName {
            #expect(!explained.contains(name) && !explained.contains(childID), "the explanation names \(name)")
        }

        // Bekzat's family gives the place up: it goes to the first child waiting for "full".
        let fullWaitlist = try #require(
            try JSONSerialization.jsonObject(with: Data(try await ok(["intake", "waitlist", "--round", "autumn", "--offer", "full", "--json"]).utf8))
                as? [String: Any])
        let firstWaiting = try #require((fullWaitlist["entries"] as? [[String: Any]])?.first?["childId"] as? String)
        let released = try await ok(["intake", "release", "--round", "autumn", "--child", children["Bekzat"]!])
        #expect(released.contains("offered full (open) to \(firstWaiting)"), "\(released)")
        let pending = try await ok(["intake", "waitlist", "--round", "autumn", "--offer", "full"])
        #expect(pending.contains("offered to \(firstWaiting)"))
        let accepted = try await ok(["intake", "respond", "--round", "autumn", "--child", firstWaiting, "--offer", "full", "--accept"])
        #expect(accepted.contains("\(firstWaiting) accepted full"))
        if firstWaiting != loser {
            // The child who held the morning place moved up: the morning place cascades to the other child.
            #expect(accepted.contains("offered am (open) to \(loser)"), "\(accepted)")
        }
        let moves = try await ok(["intake", "moves", "--round", "autumn"])
        #expect(moves.contains("\(children["Bekzat"]!) gave up their place at full (open)"), "\(moves)")
        #expect(moves.contains("\(firstWaiting) accepted full"))
        // An answer for an offer that was never made is refused.
        let stray = try await sosched(["intake", "respond", "--round", "autumn", "--child", children["Sana"]!, "--offer", "am", "--decline"])
        #expect(stray.status != 0)
        #expect(stray.stderr.contains("FAILED_PRECONDITION"))

        // The manager confirms every place held: each becomes a placement for the term.
        let confirmed = try await ok(["intake", "confirm", "--round", "autumn"])
        #expect(confirmed.contains("booked \(children["Sana"]!) at full: placement plc_"), "\(confirmed)")
        #expect(confirmed.contains("booked \(firstWaiting) at full"))
        let placements = try await ok(["place", "list", "--group", "toddlers", "--json"])
        #expect(placements.contains(children["Sana"]!) && placements.contains(firstWaiting))
        // Confirmed is final: the place cannot be released from the round any more.
        let late = try await sosched(["intake", "release", "--round", "autumn", "--child", children["Sana"]!])
        #expect(late.status != 0)
        #expect(late.stderr.contains("placement"))

        // A manager of another site sees nothing of the round.
        let denied = try await sosched(["intake", "show", "--round", "autumn"], token: astanaToken)
        #expect(denied.status != 0)
        #expect(denied.stderr.contains("PERMISSION_DENIED"))
        #expect(try await running.stop() == 0)
    }
}
