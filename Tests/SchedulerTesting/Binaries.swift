import Dispatch
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

/// Runs a binary to completion (killing it after `timeout`); `input` is its standard input
/// (none: it inherits the test's).
public func runProcess(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
    input: Data? = nil, timeout: Duration = .seconds(60)
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
    let stdin = input.map { _ in Pipe() }
    if let stdin { process.standardInput = stdin }
    try process.run()
    if let stdin, let input {
        // On a thread of its own: a child that reads slowly must not block the test.
        let writer = stdin.fileHandleForWriting
        Thread {
            writer.write(input)
            try? writer.close()
        }.start()
    }
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

/// Collects a pipe's output as it comes, so a chatty child never blocks on a full pipe. A
/// thread of its own reads the pipe with plain blocking reads until end of file (Foundation's
/// `readabilityHandler` goes through libdispatch sources, which crashed the test process once
/// under the full parallel suite).
public final class OutputCollector: Sendable {
    public let pipe = Pipe()
    private final class Buffer: Sendable {
        let data = Mutex(Data())
    }

    private let buffer = Buffer()
    private let done = DispatchSemaphore(value: 0)

    public init() {
        let buffer = self.buffer, done = self.done
        // A descriptor of its own: the pipe's may be closed (and its number reused) while this reads.
        let descriptor = dup(pipe.fileHandleForReading.fileDescriptor)
        let reader = Thread {
            defer { close(descriptor) }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    buffer.data.withLock { $0.append(contentsOf: chunk[0..<count]) }
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            done.signal()
        }
        reader.start()
    }

    /// What arrived so far.
    public var text: String { buffer.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits for the end of the output (the writer has exited) and returns all of it.
    public func finish() -> String {
        if done.wait(timeout: .now() + 10) == .success { done.signal() }
        return text
    }
}
