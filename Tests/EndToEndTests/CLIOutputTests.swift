import Foundation
import SchedulerTesting
import Testing

/// What `sosched` prints for people cannot be steered by the names it prints.
@Suite(.timeLimit(.minutes(3)))
struct CLIOutputTests {
    @Test func controlCharactersInNamesArePrintedEscaped() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        let token = try await SpawnedServer.adminToken(data: data)
        let running = try await SpawnedServer.start(directory: data)
        do {
            try await check(server: running.address, token: token)
        } catch {
            _ = try? await running.stop()
            throw error
        }
        #expect(try await running.stop() == 0)
    }

    func check(server: String, token: String) async throws {
        let env = ["SOSCHED_SERVER": server, "SOSCHED_TOKEN": token]
        func ok(_ arguments: [String]) async throws -> String {
            let result = try await runProcess(try Binaries.url("sosched"), arguments, environment: env)
            #expect(result.status == 0, "sosched \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout
        }

        // A name that would clear the screen, and one that would print a line of its own.
        let clear = "Ai\u{1b}[2Jgerim"
        let twoLines = "Dias\nchild chd_fake: Someone, born 2020-01-01"
        let bidi = "Ali\u{202E}cba"
        _ = try await ok(["site", "create", "--id", "almaty", "--name", "Alm\u{7}aty", "--time-zone", "Asia/Almaty"])
        let familyJSON = try await ok(["family", "register", "--site", "almaty", "--kind", "local", "--json"])
        let family = try #require(try JSONSerialization.jsonObject(with: Data(familyJSON.utf8)) as? [String: Any])
        let familyID = try #require(family["id"] as? String)
        for name in [clear, twoLines, bidi] {
            _ = try await ok(["child", "register", "--family", familyID, "--name", name, "--born", "2028-03-17"])
        }

        let table = try await ok(["child", "list", "--family", familyID])
        let sites = try await ok(["site", "list"])
        let shown = try await ok(["site", "show", "almaty"])
        for output in [table, sites, shown] {
            #expect(!output.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "raw control characters in: \(output.debugDescription)")
            #expect(!output.unicodeScalars.contains { $0.value == 0x202E })
        }
        #expect(table.contains(#"Ai\u{1B}[2Jgerim"#), "\(table)")
        #expect(table.contains(#"Dias\nchild chd_fake: Someone, born 2020-01-01"#), "\(table)")
        #expect(table.contains(#"Ali\u{202E}cba"#), "\(table)")
        #expect(!table.split(separator: "\n").contains { $0.hasPrefix("child chd_fake") })
        #expect(table.split(separator: "\n").count == 4, "a header and one line per child: \(table)")
        #expect(sites.contains(#"Alm\u{7}aty"#), "\(sites)")
        #expect(shown.contains(#"Alm\u{7}aty"#), "\(shown)")

        // JSON keeps the names exactly, escaped by JSON's own rules.
        let json = try await ok(["child", "list", "--family", familyID, "--json"])
        #expect(!json.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != " " })
        let children = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(Set(children.compactMap { $0["givenName"] as? String }) == [clear, twoLines, bidi])
    }
}
