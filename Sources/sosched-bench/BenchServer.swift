import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerStore

/// A SQLite store written directly (the export/import row path) with an admin token, and a real
/// `sosched-server` started on it; the process is stopped and the store removed by `stop`.
struct BenchServer {
    let process: Process
    let directory: URL
    let client: SchedulerClient

    /// Runs `body` with a server on a store of `rows`, and stops it whatever `body` does.
    static func with(server: String, name: String, rows: [StoreDump.Row], _ body: (BenchServer) async throws -> Void) async throws {
        let running = try await start(server: server, name: name, rows: rows)
        do {
            try await body(running)
        } catch {
            await running.stop()
            throw error
        }
        await running.stop()
    }

    static func start(server: String, name: String, rows: [StoreDump.Row]) async throws -> BenchServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sosched-\(name)-\(UUID().uuidString)")
        let store = try SQLiteStore(directory: directory)
        try await store.importRows(rows)
        guard
            case .applied(let admin, _) = try await store.createToken(
                role: .admin, scope: nil, name: "\(name) bench", context: MutationContext(actor: nil, method: "sosched-bench \(name)"), reply: { _ in [] })
        else { throw ValidationError("no token") }
        try await store.close()

        let port = 20_000 + Int.random(in: 0..<20_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = ["serve", "--data", directory.path, "--listen", "127.0.0.1:\(port)", "--log-level", "warning"]
        try process.run()
        let running = BenchServer(
            process: process, directory: directory, client: SchedulerClient(address: .tcp(host: "127.0.0.1", port: port), token: admin.secret))
        var ready = false
        for _ in 0..<200 where !ready {
            ready = (try? await running.client.health()) != nil
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard ready else {
            await running.stop()
            throw ValidationError("the server did not start")
        }
        return running
    }

    /// The server's resident memory, from /proc.
    func residentMegabytes() throws -> Double {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw ValidationError("no VmRSS for process \(process.processIdentifier)") }
        return (kilobytes / 1024).rounded()
    }

    func stop() async {
        await client.close()
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
