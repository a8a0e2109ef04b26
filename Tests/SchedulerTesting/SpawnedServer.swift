import Foundation

/// A real `sosched-server serve` process on a free port, as an operator would run it.
public final class SpawnedServer: Sendable {
    public let process: Process
    public let log: OutputCollector
    public let port: Int
    public let directory: URL

    private init(process: Process, log: OutputCollector, port: Int, directory: URL) {
        self.process = process
        self.log = log
        self.port = port
        self.directory = directory
    }

    /// Starts the server on `directory` (created if needed) and waits until it listens.
    /// `environment` adds to this process's (a PostgreSQL password, say).
    public static func start(directory: URL, arguments: [String] = ["--listen", "127.0.0.1:0"], environment: [String: String] = [:]) async throws
        -> SpawnedServer
    {
        let process = Process()
        process.executableURL = try Binaries.url("sosched-server")
        process.arguments = ["serve", "--data", directory.path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        let log = OutputCollector()
        process.standardError = log.pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let text = log.text
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening") }) {
                // addresses=["[IPv4]127.0.0.1/127.0.0.1:43210"] or a unix socket path.
                let port = line.firstMatch(of: /:(\d+)"/).flatMap { Int($0.1) } ?? 0
                return SpawnedServer(process: process, log: log, port: port, directory: directory)
            }
            if !process.isRunning { throw TestFailure("sosched-server exited early:\n\(log.finish())") }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw TestFailure("sosched-server did not start listening:\n\(log.text)")
    }

    public var address: String { "127.0.0.1:\(port)" }

    /// Makes an admin token in the store under `data` with the real `sosched-server` binary (at
    /// `binary`, by default the one built); returns its secret.
    public static func adminToken(data: URL, binary: URL? = nil) async throws -> String {
        let made = try await runProcess(try binary ?? Binaries.url("sosched-server"), ["token", "create", "--data", data.path, "--role", "admin"])
        guard made.status == 0, let secret = made.stdout.split(separator: "\n").last.map(String.init) else {
            throw TestFailure("sosched-server token create failed: \(made.stderr)")
        }
        return secret
    }

    /// Sends `signal` and waits for the process to exit; returns its status.
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(30)) async throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                throw TestFailure("sosched-server did not exit after signal \(signal)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}
