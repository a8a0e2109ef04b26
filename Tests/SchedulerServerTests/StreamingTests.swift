import Foundation
import NIOCore
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerTesting
import SchedulerWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Server streaming through the real server: `AdminService/WatchHealth`.
@Suite(.timeLimit(.minutes(2)))
struct StreamingTests {
    /// Streams faster than the default floor of 100 ms, so the tests are quick.
    static func fast(_ configuration: inout ServerConfiguration) { configuration.watchHealthMinimumInterval = .milliseconds(1) }

    func watch(_ id: UInt64, intervalMs: UInt32, count: UInt32 = 0, token: String, timeoutMs: UInt32 = 0) throws -> ClientFrame {
        .call(
            Call(
                callID: id, method: RPC.AdminService.watchHealth.path,
                payload: try WireCodec.encode(WatchHealthRequest(intervalMs: intervalMs, count: count)), timeoutMs: timeoutMs,
                authorization: token))
    }

    @Test func theClientReadsAStreamToItsEnd() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let client = server.client(token: server.adminToken)
            var uptimes: [UInt64] = []
            for try await health in try await client.stream(RPC.AdminService.watchHealth, WatchHealthRequest(intervalMs: 10, count: 5)) {
                #expect(health.store == "sqlite")
                uptimes.append(health.uptimeMs)
            }
            #expect(uptimes.count == 5)
            #expect(uptimes == uptimes.sorted())
            // Bad input is refused with the field named, before any message.
            await #expect {
                for try await _ in try await client.stream(RPC.AdminService.watchHealth, WatchHealthRequest(intervalMs: 70_000)) {}
            } throws: { ($0 as? RPCError)?.code == .invalidArgument && ($0 as? RPCError)?.status.message.contains("interval_ms") == true }
            // A token is needed.
            await #expect {
                for try await _ in try await server.client(token: nil).stream(RPC.AdminService.watchHealth, WatchHealthRequest(count: 1)) {}
            } throws: { ($0 as? RPCError)?.code == .unauthenticated }
            await client.close()
        }
    }

    @Test func cancelMidStreamEndsItWithCancelledAndNothingAfter() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(try watch(1, intervalMs: 10, token: server.adminToken))
            for _ in 0..<3 {
                let message = try await connection.nextReply()
                #expect(message.status.code == .ok && !message.endOfStream)
            }
            try await connection.send(.cancel(callID: 1))
            // Messages already on their way may come first; then the final status, then nothing.
            var final = try await connection.nextReply()
            while !final.endOfStream { final = try await connection.nextReply() }
            #expect(final.status.code == .cancelled)
            #expect(try await connection.next(timeout: .milliseconds(300)) == nil)
            // The connection serves the next call.
            try await connection.send(call(2, RPC.AdminService.health))
            #expect(try await connection.nextReply().status.code == .ok)
            await connection.close()
        }
    }

    @Test func aDeadlineMidStreamEndsItWithDeadlineExceeded() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(try watch(1, intervalMs: 50, token: server.adminToken, timeoutMs: 5000))
            var messages = 0
            var final = try await connection.nextReply()
            while !final.endOfStream {
                messages += 1
                final = try await connection.nextReply()
            }
            #expect(final.status.code == .deadlineExceeded)
            // Some messages (a loaded machine may make few), and not one after the deadline.
            #expect(messages >= 1 && messages <= 101)
            await connection.close()
            // Through the client: the deadline ends the iteration with DEADLINE_EXCEEDED.
            let client = server.client(token: server.adminToken)
            await #expect {
                for try await _ in try await client.stream(
                    RPC.AdminService.watchHealth, WatchHealthRequest(intervalMs: 20), options: CallOptions(timeout: .milliseconds(300)))
                {}
            } throws: { ($0 as? RPCError)?.code == .deadlineExceeded }
            await client.close()
        }
    }

    @Test func aDrainEndsStreamsWithUnavailableAndAGoAway() async throws {
        let server = try await TestServer.start {
            $0.drainTimeout = .seconds(5)
            Self.fast(&$0)
        }
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(try watch(1, intervalMs: 10, token: server.adminToken))
        #expect(try await connection.nextReply().endOfStream == false)
        let stopping = Task { try await server.stop() }
        var sawGoAway = false
        var final: Reply?
        while final == nil {
            switch try await connection.nextFrame() {
            case .goAway: sawGoAway = true
            case .reply(let reply) where reply.endOfStream: final = reply
            default: break
            }
        }
        #expect(sawGoAway)
        #expect(final?.status.code == .unavailable)
        #expect(final?.status.message.contains("shutting down") == true)
        try await stopping.value
        await connection.close()
    }

    /// A client that does not read holds the producer back: the messages it reads after a pause
    /// were made after the pause (their uptimes jump), not queued in the server during it.
    @Test func aSlowReaderHoldsTheProducerBack() async throws {
        // Small kernel buffers on both sides, so they fill in a second rather than in minutes.
        try await TestServer.with(configure: {
            $0.socketSendBufferBytes = 4096
            Self.fast(&$0)
        }) { server in
            let (address, length) = PeerSocket.tcpAddress(port: server.port)
            let fd = try #require(PeerSocket.connect(address, length: length) { PeerSocket.set($0, SO_RCVBUF, Int32(4096)) })
            defer { close(fd) }
            var buffer = ByteBuffer()
            buffer.writeBytes(Preface.bytes)
            FrameCodec.encode(try watch(1, intervalMs: 1, token: server.adminToken), into: &buffer)
            #expect(PeerSocket.sendAll(fd, Array(buffer.readableBytesView)))
            try await Task.sleep(for: .seconds(8))
            let received = try await PeerSocket.onThread { () -> [UInt8] in
                var bytes: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                let deadline = ContinuousClock.now + .seconds(2)
                while ContinuousClock.now < deadline {
                    let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
                    if n > 0 { bytes += chunk[0..<n] } else { usleep(1000) }
                }
                return bytes
            }
            var reader = FrameReader(maxFrameBytes: 1 << 20)
            var input = ByteBuffer(bytes: received)
            reader.append(&input)
            var uptimes: [UInt64] = []
            while let body = try reader.next() {
                guard case .reply(let reply) = try FrameCodec.decodeServerFrame(body, budget: 1 << 20), !reply.endOfStream else { continue }
                uptimes.append(try WireCodec.decode(HealthResponse.self, from: reply.payload).uptimeMs)
            }
            // Messages made while the client was not reading: the buffers' worth (4 KiB of socket
            // buffers each way, the channel's 64 KiB high-water mark: about 2,000 of these), not
            // one a millisecond for 8 s. A count, not a time, so a loaded machine cannot fail it.
            let first = try #require(uptimes.first)
            let madeDuringPause = uptimes.filter { $0 < first + 7_500 }.count
            // A machine busy with other tests makes far fewer than one a millisecond (a fresh-clone
            // run beside two builds read 6 in its 2 s); some come.
            #expect(!uptimes.isEmpty)
            #expect(madeDuringPause <= 4_000, "\(madeDuringPause) messages made during the pause, \(uptimes.count) in all")
        }
    }

    /// Streams are capped on the whole server; a place comes back when a stream ends.
    @Test func theServerCapsItsOpenStreams() async throws {
        try await TestServer.with(configure: { $0.maxStreams = 2 }) { server in
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(try watch(1, intervalMs: 100, token: server.adminToken))
            try await connection.send(try watch(2, intervalMs: 100, token: server.adminToken))
            for _ in 0..<2 { #expect(try await connection.nextReply().endOfStream == false) }
            try await connection.send(try watch(3, intervalMs: 100, token: server.adminToken))
            var refused = try await connection.nextReply()
            while refused.callID != 3 { refused = try await connection.nextReply() }
            #expect(refused.status.code == .resourceExhausted)
            #expect(refused.status.message.contains("max-streams"))
            // Unary calls are not streams: still served.
            try await connection.send(call(4, RPC.AdminService.health))
            var health = try await connection.nextReply()
            while health.callID != 4 { health = try await connection.nextReply() }
            #expect(health.status.code == .ok)
            try await connection.send(.cancel(callID: 1))
            // Once the cancelled stream's task has ended, a new stream gets its place.
            var started = false
            for attempt in UInt64(5)..<UInt64(50) where !started {
                try await connection.send(try watch(attempt, intervalMs: 100, count: 1, token: server.adminToken))
                var reply = try await connection.nextReply()
                while reply.callID != attempt { reply = try await connection.nextReply() }
                started = reply.status.code == .ok
                if !started { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(started)
            await connection.close()
        }
    }

    /// Revoking the token ends its streams: they check it again every second.
    @Test func revokingTheTokenEndsItsStreams() async throws {
        try await TestServer.with { server in
            let admin = server.client(token: server.adminToken)
            let issued = try await admin.createToken(role: .admin, name: "watcher")
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(try watch(1, intervalMs: 100, token: issued.secret))
            #expect(try await connection.nextReply().endOfStream == false)
            _ = try await admin.revokeToken(id: try #require(issued.token).id)
            let revokedAt = ContinuousClock.now
            var final = try await connection.nextReply()
            // 100 ms apart: 50 messages is 5 s, far past the one-second re-check.
            for _ in 0..<50 where !final.endOfStream { final = try await connection.nextReply() }
            #expect(final.status.code == .unauthenticated)
            #expect(ContinuousClock.now - revokedAt < .seconds(5))
            await connection.close()
            await admin.close()
        }
    }

    @Test func watchingFasterThanTheFloorIsRefused() async throws {
        try await TestServer.with { server in
            let client = server.client(token: server.adminToken)
            await #expect {
                for try await _ in try await client.stream(RPC.AdminService.watchHealth, WatchHealthRequest(intervalMs: 50)) {}
            } throws: { ($0 as? RPCError)?.code == .invalidArgument && ($0 as? RPCError)?.status.message.contains("100") == true }
            await client.close()
        }
    }
}
