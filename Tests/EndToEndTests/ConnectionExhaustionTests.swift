import Foundation
import NIOCore
import SchedulerTesting
import SchedulerWire
import Testing

/// Issue 10 item 1, from outside: peers that hold connections open without playing their part
/// (a TLS handshake never finished, replies never read) cannot keep the real server's file
/// descriptors, and SIGTERM ends the process in bounded time whatever its calls are doing.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ConnectionExhaustionTests {
    /// The open file descriptors of process `pid`.
    static func descriptors(of pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    static func frames(_ frames: [ClientFrame]) -> [UInt8] {
        var buffer = ByteBuffer()
        for frame in frames { FrameCodec.encode(frame, into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    /// 2,000 TCP peers that never finish the TLS handshake and 2,000 Unix-socket peers that
    /// never read (10 of them sending 200 KB of pings): the server
    /// still serves a new client while they are all connected, and its descriptors return to
    /// where they were once the timers have run, though the peers never close their sockets.
    @Test func stalledAndSilentPeersLoseTheirDescriptorsToTheTimers() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let (certificate, key) = try await TestCertificate.make(in: work)
        let data = work.appendingPathComponent("var")
        let socketPath = work.appendingPathComponent("s.sock").path
        let server = try await SpawnedServer.start(
            directory: data,
            arguments: [
                "--listen", "127.0.0.1:0", "--unix", socketPath, "--tls-cert", certificate, "--tls-key", key,
                "--preface-timeout", "10", "--partial-frame-timeout", "10", "--tls-handshake-timeout", "10", "--idle-timeout", "10", "--write-timeout", "2",
                "--close-timeout", "2", "--max-connections-per-address", "5000", "--max-connections", "6000",
            ])
        let pid = server.process.processIdentifier
        let sosched = try Binaries.url("sosched")
        for target in ["unix:\(socketPath)", server.address] {
            let warm = try await runProcess(sosched, ["health", "--server", target, "--tls-ca", certificate, "--json"])
            #expect(warm.status == 0, "\(warm.stderr)")
        }
        try await Task.sleep(for: .milliseconds(300))
        let baseline = try Self.descriptors(of: pid)

        let (tcp, tcpLength) = PeerSocket.tcpAddress(port: server.port)
        let (unix, unixLength) = PeerSocket.unixAddress(path: socketPath)
        let hello = Array(Preface.bytes) + Self.frames([.ping(opaque: 1)])
        let flood = Self.frames((0..<16_000).map { .ping(opaque: UInt64($0)) })
        // The server's descriptors, sampled while the peers connect.
        let sampler = Task {
            var peak = 0
            while !Task.isCancelled {
                peak = max(peak, (try? Self.descriptors(of: pid)) ?? 0)
                try? await Task.sleep(for: .milliseconds(100))
            }
            return peak
        }
        // Blocking connects (a Unix connect waits while the backlog is full) on a thread of their own.
        let (peers, flooded) = try await PeerSocket.onThread { () throws -> ([Int32], Int) in
            var peers: [Int32] = [], flooded = 0
            for _ in 0..<2000 {
                guard let fd = PeerSocket.connect(tcp, length: tcpLength) else {
                    for fd in peers { close(fd) }
                    throw TestFailure("could not open a TCP peer (after \(peers.count))")
                }
                peers.append(fd)
            }
            for index in 0..<2000 {
                guard let fd = PeerSocket.connect(unix, length: unixLength) else {
                    for fd in peers { close(fd) }
                    throw TestFailure("could not open a Unix peer (after \(index))")
                }
                peers.append(fd)
                _ = PeerSocket.sendWithoutBlocking(fd, hello)
                if index % 200 == 0 { flooded += PeerSocket.sendWithoutBlocking(fd, flood) }
            }
            return (peers, flooded)
        }
        defer { for fd in peers { close(fd) } }
        // All held at once, and a new client is still served (by TLS and by the Unix socket).
        let opened = ContinuousClock.now
        sampler.cancel()
        var peak = max(await sampler.value, try Self.descriptors(of: pid))
        for target in [server.address, "unix:\(socketPath)"] {
            let served = try await runProcess(sosched, ["health", "--server", target, "--tls-ca", certificate, "--json", "--timeout", "30"])
            #expect(served.status == 0, "a new client was not served while 4,000 peers held connections: \(served.stderr)")
        }
        peak = max(peak, try Self.descriptors(of: pid))
        print(
            "connection exhaustion: baseline \(baseline) descriptors, \(peak) with the peers connected; new clients served in \(ContinuousClock.now - opened)")
        #expect(peak >= baseline + 2000, "the server never held the peers' connections (baseline \(baseline), peak \(peak))")
        #expect(flooded > 10 * 100_000, "the flooders could not send much (\(flooded) bytes)")

        // The peers keep their sockets; the server's timers must free its side.
        let deadline = ContinuousClock.now + .seconds(40)
        var now = peak
        while ContinuousClock.now < deadline {
            now = try Self.descriptors(of: pid)
            if now <= baseline { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        print("connection exhaustion: \(now) descriptors \(ContinuousClock.now - opened) after the peers connected")
        #expect(now <= baseline, "descriptors did not return to the baseline: \(baseline) before, \(peak) at the peak, \(now) after the timers")
        let after = try await runProcess(sosched, ["health", "--server", server.address, "--tls-ca", certificate, "--json"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try await server.stop() == 0)
    }

    /// SIGTERM stops the process within the drain timeout (and a few seconds for the store)
    /// even while a call waits on a write lock it will not get for a long time.
    @Test func sigtermEndsTheProcessWhileACallIsStuck() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        let token = try await SpawnedServer.adminToken(data: data)
        let server = try await SpawnedServer.start(directory: data, arguments: ["--listen", "127.0.0.1:0", "--drain-timeout", "1"])
        let lock = try WriteLock(directory: data)
        let sosched = try Binaries.url("sosched")
        // A write that waits for the lock (the store waits up to 10 s for a busy database).
        let stuck = Task {
            try await runProcess(
                sosched, ["site", "create", "--id", "stuck", "--name", "Stuck", "--server", server.address, "--timeout", "60"],
                environment: ["SOSCHED_TOKEN": token])
        }
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        let status = try await server.stop(timeout: .seconds(20))
        let took = ContinuousClock.now - started
        try lock.release()
        let answered = try await stuck.value
        #expect(took < .seconds(5), "SIGTERM took \(took) to stop the server (drain timeout 1 s)")
        #expect(status == 0)
        #expect(answered.status != 0, "the stuck call cannot have succeeded: \(answered.stdout)")
    }
}
