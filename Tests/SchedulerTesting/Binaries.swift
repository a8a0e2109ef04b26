import Foundation
import Synchronization

/// The package's built executables, next to the running test bundle.
public enum Binaries {
    public static func url(_ name: String) throws -> URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On Linux the runner is .build/<config>/<package>PackageTests.xctest; on macOS a bundle inside it.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw TestFailure("binary \(name) not found next to \(CommandLine.arguments[0]); run Scripts/test (it builds everything first)")
    }
}

/// A finished process's exit status and output.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a binary to completion (killing it after `timeout`).
public func runProcess(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
    timeout: Duration = .seconds(60)
) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "SOSCHED_TOKEN")
    env.removeValue(forKey: "SOSCHED_SERVER")
    for (key, value) in environment { env[key] = value }
    process.environment = env
    if let directory { process.currentDirectoryURL = directory }
    let out = OutputCollector()
    let err = OutputCollector()
    process.standardOutput = out.pipe
    process.standardError = err.pipe
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            throw TestFailure("\(executable.lastPathComponent) \(arguments) did not finish within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    return ProcessResult(status: process.terminationStatus, stdout: out.finish(), stderr: err.finish())
}

/// Collects a pipe's output as it comes, so a chatty child never blocks on a full pipe.
public final class OutputCollector: Sendable {
    public let pipe = Pipe()
    private final class Buffer: Sendable {
        let data = Mutex(Data())
    }

    private let buffer = Buffer()

    public init() {
        let buffer = self.buffer
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            buffer.data.withLock { $0.append(chunk) }
        }
    }

    /// What arrived so far.
    public var text: String { buffer.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Stops collecting and returns everything, including what is still in the pipe.
    public func finish() -> String {
        pipe.fileHandleForReading.readabilityHandler = nil
        let rest = pipe.fileHandleForReading.readDataToEndOfFile()
        return buffer.data.withLock { $0.append(rest); return String(decoding: $0, as: UTF8.self) }
    }
}
