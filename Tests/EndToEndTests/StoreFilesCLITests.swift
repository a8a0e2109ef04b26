import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// The files the binaries make (the SQLite directory and files, dumps) and the dumps they take in.
@Suite(.timeLimit(.minutes(3)))
struct StoreFilesCLITests {
    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int, "no mode for \(path)") & 0o777
    }

    /// Runs a binary under `umask 022`, the usual default, which would leave new files readable by everyone.
    func runUnderUmask022(_ binary: String, _ arguments: [String]) async throws -> ProcessResult {
        try await runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "umask 022 && exec \"$0\" \"$@\"", try Binaries.url(binary).path] + arguments)
    }

    @Test func theStoreAndItsDumpsAreOwnerOnlyFromTheStart() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        let migrated = try await runUnderUmask022("sosched-server", ["migrate", "--data", data.path])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(try mode(data.path) == 0o700)
        let file = data.appendingPathComponent("sosched.sqlite").path
        #expect(try mode(file) == 0o600)

        // While a store is open its -wal and -shm files exist: SQLite makes them with the file's mode.
        let store = try SQLiteStore(directory: data)
        _ = try await store.createSite(Site(id: "almaty", name: "Almaty", timeZone: "Asia/Almaty"), context: MutationContext(actor: nil, method: "test")) { _ in
            []
        }
        for suffix in ["-wal", "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file + suffix), "\(suffix) missing")
            #expect(try mode(file + suffix) == 0o600, "\(suffix)")
        }
        try await store.close()

        // A new dump, and a dump written over an existing file that others could read.
        let dump = work.appendingPathComponent("sosched.dump").path
        let exported = try await runUnderUmask022("sosched-server", ["export", "--data", data.path, "--output", dump])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try mode(dump) == 0o600)
        let old = work.appendingPathComponent("old.dump").path
        #expect(FileManager.default.createFile(atPath: old, contents: Data("old\n".utf8), attributes: [.posixPermissions: 0o644]))
        let again = try await runUnderUmask022("sosched-server", ["export", "--data", data.path, "--output", old])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try mode(old) == 0o600)
        #expect(try String(contentsOfFile: old, encoding: .utf8).contains("Almaty"))
    }

    /// A dump edited by hand: values that cannot be what their column holds are refused with the
    /// line and the column named, and nothing is imported.
    @Test(arguments: [
        ("5000000000", "nursery_group.capacity is 5000000000, outside 0-2147483647"),
        ("-1", "nursery_group.capacity is -1, outside 0-2147483647"),
        ("1.5", "nursery_group.capacity is not an integer"),
        ("1e30", "nursery_group.capacity is not an integer"),
    ])
    func anImportWithAValueThatDoesNotFitIsRefused(capacity: String, message: String) async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        let store = try SQLiteStore(directory: data)
        let migrations = try store.appliedMigrations()
        try await store.close()
        let header = String(decoding: try JSONEncoder().encode(StoreDump.Header(migrations: migrations, store: "sqlite")), as: UTF8.self)
        let lines = [
            header,
            #"{"r":["almaty","Almaty","Asia/Almaty"],"t":"site"}"#,
            #"{"r":["almaty-1","almaty","Nursery",31,"","08:00-12:00","13:00-17:00"],"t":"nursery"}"#,
            #"{"r":["tiny","almaty-1","Tiny",12,48,"# + capacity + #",0,0,1],"t":"nursery_group"}"#,
        ]
        let dump = work.appendingPathComponent("edited.dump")
        try (lines.joined(separator: "\n") + "\n").write(to: dump, atomically: true, encoding: .utf8)

        let imported = try await runProcess(try Binaries.url("sosched-server"), ["import", "--data", data.path, "--input", dump.path])
        #expect(imported.status != 0)
        #expect(imported.stderr.contains("line 4 of the dump: \(message)"), "\(imported.stderr)")
        let reopened = try SQLiteStore(directory: data)
        #expect(try await reopened.listSites(after: nil, limit: 10).items.isEmpty)
        try await reopened.close()
    }
}
