import ArgumentParser
import Foundation
import SchedulerCore
import SchedulerStore

/// `export`: every row of a store, as JSON lines, from one consistent snapshot (the server may run).
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every row of the store to a dump file (JSON lines), for a move to another store or a backup.",
        discussion: """
            The first line names the format and the migrations; each further line is one row:
            {"r":[...],"t":"TABLE"}. Reads one consistent snapshot, so the server may keep running.

            Examples:
              sosched-server export --data ./var --output sosched.dump
              sosched-server import --store postgres://sosched@db.internal:5432/sosched --input sosched.dump
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "File to write ('-' for standard output).")
    var output: String = "-"

    func run() async throws {
        let store = try await data.openStore()
        do {
            let counts = try await store.withRunningServices {
                let migrations = try await store.appliedMigrations()
                let writer = try DumpWriter(path: output)
                let header = StoreDump.Header(migrations: migrations, store: store.kind)
                try writer.write(String(decoding: try JSONEncoder().encode(header), as: UTF8.self))
                try await store.exportRows { row in try writer.write(try StoreDump.line(row)) }
                return writer.finish()
            }
            try await store.close()
            FileHandle.standardError.write(Data("exported \(counts) rows from \(data.storeDescription)\n".utf8))
        } catch {
            try? await store.close()
            throw error
        }
    }
}

/// `import`: loads a dump into an empty store, all or nothing.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a dump file made by export into an empty store, in one transaction.",
        discussion: """
            Refuses a store that holds any data, and a dump whose migrations differ from the store's.
            Token secrets keep working (their hashes move), as do idempotency keys and the audit log.

            Example:
              SOSCHED_PG_PASSWORD=... sosched-server import --store postgres://sosched@db.internal:5432/sosched --input sosched.dump
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "Dump file to read ('-' for standard input).")
    var input: String = "-"

    func run() async throws {
        let content: Data
        if input == "-" {
            content = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let read = FileManager.default.contents(atPath: input) else { throw ValidationError("--input: cannot read \(input)") }
            content = read
        }
        var lines = String(decoding: content, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let first = lines.next(), let header = try? JSONDecoder().decode(StoreDump.Header.self, from: Data(first.utf8)),
            header.format == StoreDump.format, header.version == 1
        else { throw ValidationError("--input: \(input) is not a sosched dump (its first line must be the export header)") }
        var rows: [StoreDump.Row] = []
        var number = 1
        while let line = lines.next() {
            number += 1
            do { rows.append(try StoreDump.row(fromLine: String(line), number: number)) } catch let error as SchedulerError {
                throw ValidationError(error.message)
            }
        }
        let store = try await data.openStore()
        do {
            try await store.withRunningServices {
                let migrations = try await store.appliedMigrations()
                guard migrations == header.migrations else {
                    throw ValidationError(
                        "the dump was made at migrations \(header.migrations.joined(separator: ", ")); this store is at \(migrations.joined(separator: ", "))")
                }
                try await store.importRows(rows)
            }
            try await store.close()
            print("imported \(rows.count) rows into \(data.storeDescription)")
        } catch let error as SchedulerError {
            try? await store.close()
            throw ValidationError(error.message)
        } catch {
            try? await store.close()
            throw error
        }
    }
}

/// Lines to a file or standard output, counted.
final class DumpWriter: @unchecked Sendable {
    private let handle: FileHandle
    private var buffer = Data()
    private var count = 0
    private let lock = NSLock()

    init(path: String) throws {
        if path == "-" {
            handle = .standardOutput
        } else {
            // Mode 600 from the moment the file exists (whatever the umask), and an existing file
            // made owner-only before a byte of the dump reaches it: the dump holds children's names.
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw ValidationError("--output: cannot create \(path): \(String(cString: strerror(errno)))")
            }
            handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            guard fchmod(descriptor, 0o600) == 0 else {
                throw ValidationError("--output: cannot make \(path) private (mode 600): \(String(cString: strerror(errno)))")
            }
        }
    }

    func write(_ line: String) throws {
        lock.lock()
        defer { lock.unlock() }
        buffer.append(Data(line.utf8))
        buffer.append(0x0A)
        count += 1
        if buffer.count > 1 << 20 {
            handle.write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Flushes and closes; returns the rows written (the header not counted).
    func finish() -> Int {
        lock.lock()
        defer { lock.unlock() }
        handle.write(buffer)
        buffer.removeAll()
        if handle !== FileHandle.standardOutput { try? handle.close() }
        return count - 1
    }
}
