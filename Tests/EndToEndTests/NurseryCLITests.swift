import Foundation
import SchedulerTesting
import Testing

/// The nursery commands of `sosched`, run as a manager would, against a spawned server.
@Suite(.timeLimit(.minutes(3)))
struct NurseryCLITests {
    @Test func setUpBookRefuseAndReadTheGrid() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        let token = try await SpawnedServer.adminToken(data: data)
        let running = try await SpawnedServer.start(directory: data)
        let env = ["SOSCHED_SERVER": running.address, "SOSCHED_TOKEN": token]
        func sosched(_ arguments: [String]) async throws -> ProcessResult {
            try await runProcess(try Binaries.url("sosched"), arguments, environment: env)
        }
        func ok(_ arguments: [String]) async throws -> String {
            let result = try await sosched(arguments)
            #expect(result.status == 0, "sosched \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout
        }
        func jsonObject(_ text: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
        }

        _ = try await ok(["site", "create", "--id", "almaty", "--name", "Almaty", "--time-zone", "Asia/Almaty"])
        let nursery = try await ok(["nursery", "create", "--id", "almaty-1", "--site", "almaty", "--name", "Village nursery", "--closures", "2030-09-09"])
        #expect(nursery.contains("closures: 2030-09-09"))
        let group = try await ok(["group", "create", "--id", "tiny", "--nursery", "almaty-1", "--name", "Tiny", "--ages", "12-48", "--capacity", "1"])
        #expect(group.contains("1 places a session"))
        _ = try await ok([
            "group", "create", "--id", "roomy", "--nursery", "almaty-1", "--name", "Roomy", "--ages", "12-48", "--capacity", "5", "--reserved-sos", "2",
        ])
        let family = try jsonObject(try await ok(["family", "register", "--site", "almaty", "--kind", "local", "--parents-working", "--json"]))
        let familyID = try #require(family["id"] as? String)
        var children: [String] = []
        for name in ["Aigerim", "Dias"] {
            let child = try jsonObject(try await ok(["child", "register", "--family", familyID, "--name", name, "--born", "2028-03-17", "--json"]))
            children.append(try #require(child["id"] as? String))
        }

        let booked = try await ok([
            "place", "book", "--child", children[0], "--group", "tiny", "--from", "2030-09-03", "--until", "2030-10-02", "--pattern", "mon-fri:full",
        ])
        #expect(booked.hasPrefix("booked placement plc_"))

        let refused = try await sosched(["place", "book", "--child", children[1], "--group", "tiny", "--from", "2030-09-16", "--pattern", "mon-fri:am"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("RESOURCE_EXHAUSTED"))
        #expect(refused.stderr.contains("2030-09-16 morning: all 1 places taken"))
        #expect(refused.stderr.contains("the same pattern in tiny, starting 2030-10-03"))
        #expect(refused.stderr.contains("sosched place book --child \(children[1]) --group roomy --from 2030-09-16"))

        let badPattern = try await sosched(["place", "book", "--child", children[1], "--group", "tiny", "--from", "2030-09-16", "--pattern", "weekdays"])
        #expect(badPattern.status != 0)
        #expect(badPattern.stderr.contains("--pattern"))

        let grid = try await ok(["occupancy", "--nursery", "almaty-1", "--from", "2030-09-06", "--to", "2030-09-10"])
        let lines = grid.split(separator: "\n").map(String.init)
        // Friday 4th, then Tuesday 8th: the weekend and the closure on Monday 7th are left out.
        #expect(lines.contains { $0.hasPrefix("2030-09-06  Fri") })
        #expect(lines.contains { $0.hasPrefix("2030-09-10  Tue") })
        #expect(!lines.contains { $0.hasPrefix("2030-09-09") })
        // Tiny is full (its place held by a local child); of Roomy's five free places two are kept for SOS children.
        let friday = try #require(lines.first { $0.hasPrefix("2030-09-06") })
        #expect(friday.contains("0 free: S 0, L 0 | taken S 0, L 1"), "\(friday)")
        #expect(friday.contains("5 free: S 5, L 3 | taken S 0, L 0"), "\(friday)")
        #expect(lines.contains { $0.contains("of which S could go to an SOS child and L to a local child") })

        let occupancy = try jsonObject(try await ok(["occupancy", "--nursery", "almaty-1", "--from", "2030-09-06", "--to", "2030-09-06", "--json"]))
        let days = try #require(occupancy["days"] as? [[String: Any]])
        let sessions = try #require(days.first?["sessions"] as? [[String: Any]])
        let tinyMorning = sessions.first { $0["group"] as? String == "tiny" && $0["session"] as? String == "am" }
        #expect(tinyMorning?["local"] as? Int == 1)
        #expect(tinyMorning?["free"] as? Int == 0)
        let roomyMorning = sessions.first { $0["group"] as? String == "roomy" && $0["session"] as? String == "am" }
        #expect(roomyMorning?["free"] as? Int == 5)
        #expect(roomyMorning?["free_for_sos"] as? Int == 5)
        #expect(roomyMorning?["free_for_local"] as? Int == 3)

        let listed = try #require(
            try JSONSerialization.jsonObject(with: Data(try await ok(["place", "list", "--nursery", "almaty-1", "--json"]).utf8)) as? [[String: Any]])
        #expect(listed.count == 1)
        let placementID = try #require(listed.first?["id"] as? String)
        let ended = try await ok(["place", "end", placementID, "--from", "2030-09-16"])
        #expect(ended.contains("to 2030-09-15"))
        // Now the refused booking fits.
        _ = try await ok(["place", "book", "--child", children[1], "--group", "tiny", "--from", "2030-09-16", "--pattern", "mon-fri:am"])

        #expect(try await running.stop() == 0)
    }
}
