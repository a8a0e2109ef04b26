import Foundation
import NIOCore
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

func call<Request, Response>(
    _ id: UInt64, _ method: RPCMethod<Request, Response>, _ payload: [UInt8] = [], token: String = "", timeoutMs: UInt32 = 0, key: String = ""
) -> ClientFrame {
    .call(Call(callID: id, method: method.path, payload: payload, timeoutMs: timeoutMs, authorization: token, idempotencyKey: key))
}

func createPayload(_ name: String = "t") throws -> [UInt8] {
    // A counsellor scope: counsellors are not stored yet, so the token needs no records in the store.
    try WireCodec.encode(CreateTokenRequest(role: .counsellor, scope: "counsellor:c1", name: name))
}

func tokenCount(_ server: TestServer) async throws -> Int {
    try await server.store.listTokens(includeRevoked: true, after: nil, limit: 10_000).tokens.count
}

func auditCount(_ server: TestServer) async throws -> Int {
    try await server.store.auditEntries(after: 0, limit: 100_000).count
}

@Suite(.timeLimit(.minutes(2)))
struct ConnectionTests {
    @Test func thousandCallsInFlightOnOneConnectionAreAllAnsweredAndMatched() async throws {
        try await TestServer.with(configure: { $0.maxCallsInFlight = 2000 }) { server in
            let connection = try await RawConnection.connect(port: server.port)
            // WhoAmI runs off the event loop (token lookup), so the calls really are in flight together.
            var bytes = ByteBuffer()
            for id in 1...1000 { FrameCodec.encode(call(UInt64(id), RPC.AdminService.whoAmI, token: server.adminToken), into: &bytes) }
            try await connection.send(Array(bytes.readableBytesView))
            var seen = Set<UInt64>()
            for _ in 1...1000 {
                let reply = try await connection.nextReply()
                #expect(reply.status.isOK)
                #expect(reply.endOfStream)
                #expect(try WireCodec.decode(WhoAmIResponse.self, from: reply.payload).token?.role == .admin)
                seen.insert(reply.callID)
            }
            #expect(seen == Set(1...1000))
            await connection.close()
        }
    }

    @Test func theClientMultiplexesAThousandConcurrentCalls() async throws {
        try await TestServer.with(configure: { $0.maxCallsInFlight = 2000 }) { server in
            let client = server.client(token: server.adminToken)
            let roles = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        if index % 2 == 0 { return try await client.whoAmI().role == .admin }
                        return try await client.health().store == "sqlite"
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(roles == 1000)
            await client.close()
        }
    }

    @Test func repliesComeInTheOrderCallsFinish() async throws {
        try await TestServer.with { server in
            let connection = try await RawConnection.connect(port: server.port)
            let lock = try WriteLock(directory: server.directory)
            try await connection.send(call(1, RPC.AdminService.createToken, try createPayload(), token: server.adminToken))
            try await connection.send(call(2, RPC.AdminService.health))
            let first = try await connection.nextReply()
            #expect(first.callID == 2)
            #expect(try WireCodec.decode(HealthResponse.self, from: first.payload).store == "sqlite")
            try lock.release()
            let second = try await connection.nextReply()
            #expect(second.callID == 1)
            #expect(second.status.isOK)
            #expect(try WireCodec.decode(CreateTokenResponse.self, from: second.payload).token?.role == .counsellor)
            await connection.close()
        }
    }

    @Test func callsBeyondTheInFlightLimitAreRefusedAndTheConnectionStaysUsable() async throws {
        try await TestServer.with(configure: { $0.maxCallsInFlight = 2 }) { server in
            let connection = try await RawConnection.connect(port: server.port)
            let lock = try WriteLock(directory: server.directory)
            for id in 1...3 { try await connection.send(call(UInt64(id), RPC.AdminService.createToken, try createPayload("\(id)"), token: server.adminToken)) }
            let refused = try await connection.nextReply()
            #expect(refused.callID == 3)
            #expect(refused.status.code == .resourceExhausted)
            #expect(refused.status.message.contains("max-calls-in-flight"))
            // Ping is answered at once even while both calls are stuck.
            try await connection.send(.ping(opaque: 77))
            #expect(try await connection.nextFrame() == .pong(opaque: 77))
            try lock.release()
            let done = [try await connection.nextReply(), try await connection.nextReply()]
            #expect(Set(done.map(\.callID)) == [1, 2])
            #expect(done.allSatisfy { $0.status.isOK })
            await connection.close()
        }
    }

    @Test func aCallPastItsDeadlineIsAnsweredAndCommitsNothing() async throws {
        try await TestServer.with { server in
            let tokens = try await tokenCount(server)
            let audit = try await auditCount(server)
            let connection = try await RawConnection.connect(port: server.port)
            let lock = try WriteLock(directory: server.directory)
            try await connection.send(call(1, RPC.AdminService.createToken, try createPayload(), token: server.adminToken, timeoutMs: 200))
            let reply = try await connection.nextReply()
            #expect(reply.status.code == .deadlineExceeded)
            try lock.release()
            // Let the blocked transaction reach its commit point and roll back.
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await tokenCount(server) == tokens)
            #expect(try await auditCount(server) == audit)
            try await connection.send(.ping(opaque: 1))
            #expect(try await connection.nextFrame() == .pong(opaque: 1))
            await connection.close()
        }
    }

    @Test func aCancelledCallIsAnsweredCancelledAndCommitsNothing() async throws {
        try await TestServer.with { server in
            let tokens = try await tokenCount(server)
            let connection = try await RawConnection.connect(port: server.port)
            let lock = try WriteLock(directory: server.directory)
            try await connection.send(call(9, RPC.AdminService.createToken, try createPayload(), token: server.adminToken))
            try await Task.sleep(for: .milliseconds(50))
            try await connection.send(.cancel(callID: 9))
            let reply = try await connection.nextReply()
            #expect(reply.callID == 9)
            #expect(reply.status.code == .cancelled)
            try lock.release()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await tokenCount(server) == tokens)
            // No second reply for the cancelled call.
            #expect(try await connection.next(timeout: .milliseconds(200)) == nil)
            await connection.close()
        }
    }

    @Test func theClientHonoursDeadlinesAndCancellation() async throws {
        try await TestServer.with { server in
            let client = server.client(token: server.adminToken)
            // Connected first, so the short deadline below is spent waiting for the store, not on
            // connecting (which a busy machine can make slow).
            _ = try await client.health()
            let lock = try WriteLock(directory: server.directory)
            await #expect {
                try await client.createToken(role: .admin, options: .mutation(timeout: .milliseconds(200)))
            } throws: { error in
                (error as? RPCError)?.code == .deadlineExceeded
            }
            let task = Task { try await client.createToken(role: .admin) }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            try lock.release()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await tokenCount(server) == 1)
            await client.close()
        }
    }

    @Test func theClientReconnectsAfterTheServerClosesAnIdleConnection() async throws {
        try await TestServer.with(configure: { $0.idleTimeout = .milliseconds(200) }) { server in
            let client = server.client(token: server.adminToken)
            #expect(try await client.whoAmI().role == .admin)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await client.whoAmI().role == .admin)
            await client.close()
        }
    }

    @Test func theClientRetriesUntilAStartingServerAnswers() async throws {
        // Learn a free port, then start the real server on it a little after the call begins.
        let probe = try await TestServer.start()
        let port = probe.port
        try await probe.stop()
        let starting = Task {
            try await Task.sleep(for: .milliseconds(150))
            return try await TestServer.start { $0.listeners = [.tcp(host: "127.0.0.1", port: port)] }
        }
        let client = SchedulerClient(address: .tcp(host: "127.0.0.1", port: port))
        let health = try await client.health(options: CallOptions(timeout: .seconds(10)))
        #expect(health.store == "sqlite")
        await client.close()
        try await starting.value.stop()
    }

    @Test func theClientGivesUpOnAServerThatIsNotThere() async throws {
        let client = SchedulerClient(address: .tcp(host: "127.0.0.1", port: 1))
        await #expect {
            try await client.health(options: CallOptions(timeout: .seconds(30), maxRetries: 2))
        } throws: { error in
            (error as? RPCError)?.code == .unavailable
        }
        await client.close()
    }
}

@Suite(.timeLimit(.minutes(2)))
struct BadInputTests {
    @Test func anHTTPRequestGetsAClearRefusal() async throws {
        try await TestServer.with { server in
            let connection = try await RawConnection.connect(port: server.port, sendPreface: false)
            try await connection.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let goAway = try await connection.expectGoAwayAndClose()
            #expect(goAway.status.code == .invalidArgument)
            #expect(goAway.status.message.contains("preface"))
        }
    }

    /// Runs a timing-sensitive scenario up to three times: a run whose test task was starved of
    /// CPU by its neighbours past a timeout goes again. A server that gets the rule wrong fails
    /// every attempt the same way, so a real fault still fails the test.
    func withAttempts(_ body: () async throws -> Void) async throws {
        for attempt in 1...3 {
            do {
                return try await body()
            } catch  where attempt < 3 {
                continue
            }
        }
    }

    /// Issue 10 item 4: a call answered with DEADLINE_EXCEEDED keeps its slot while its work
    /// goes on, so a loop of 1 ms deadlines cannot start unbounded work. (On a loaded machine
    /// a call can time out before its transaction even waits for the lock; its work then ends
    /// at once, rightly freeing the slot: such an attempt is tried again.)
    @Test func callsThatTimedOutHoldTheirSlotUntilTheirWorkEnds() async throws {
        try await withAttempts {
            try await TestServer.with(configure: { $0.maxCallsInFlight = 2 }) { server in
                let connection = try await RawConnection.connect(port: server.port)
                let lock = try WriteLock(directory: server.directory)
                for id in 1...2 {
                    try await connection.send(
                        call(UInt64(id), RPC.AdminService.createToken, try createPayload("\(id)"), token: server.adminToken, timeoutMs: 500))
                }
                let expired = [try await connection.nextReply(), try await connection.nextReply()]
                #expect(Set(expired.map(\.callID)) == [1, 2])
                #expect(expired.allSatisfy { $0.status.code == .deadlineExceeded })
                // Both transactions still wait for the lock: no slot is free for a third call.
                try await connection.send(call(3, RPC.AdminService.whoAmI, token: server.adminToken))
                let refused = try await connection.nextReply()
                try lock.release()
                guard refused.callID == 3, refused.status.code == .resourceExhausted else {
                    throw TestFailure("a third call while two timed-out calls still wait got \(refused.status)")
                }
                // Once their work has ended (and committed nothing), the slots are free again.
                var answered: Reply?
                for id in 4...104 {
                    try await connection.send(call(UInt64(id), RPC.AdminService.whoAmI, token: server.adminToken))
                    let reply = try await connection.nextReply()
                    if reply.status.isOK {
                        answered = reply
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(answered != nil, "the slots of the timed-out calls never came back")
                #expect(try await tokenCount(server) == 1)
                await connection.close()
            }
        }
    }

    /// Found by a break-in test: protobuf-c hands strings over as C strings, so a NUL byte cut
    /// them short ("key\0a" and "key\0b" were one idempotency key, "token\0junk" the token,
    /// "big\0junk" the site "big"). Any text with a NUL byte is now refused, named.
    @Test func textWithANulByteIsRefusedNotCutShort() async throws {
        try await TestServer.with { server in
            func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
                var length = bytes.count, varint: [UInt8] = []
                repeat {
                    varint.append(UInt8(length & 0x7f) | (length > 0x7f ? 0x80 : 0))
                    length >>= 7
                } while length > 0
                return [number << 3 | 2] + varint + bytes
            }
            func rawCall(_ id: UInt8, method: String, payload: [UInt8], authorization: [UInt8], key: [UInt8] = []) -> [UInt8] {
                let call = [0x08, id] + field(2, Array(method.utf8)) + field(3, payload) + field(5, authorization) + (key.isEmpty ? [] : field(6, key))
                return RawConnection.framed(field(1, call))
            }
            let token = Array(server.adminToken.utf8)
            let connection = try await RawConnection.connect(port: server.port)
            // A NUL in the idempotency key, or after a valid token: the call is refused, the field named.
            try await connection.send(rawCall(1, method: RPC.AdminService.whoAmI.path, payload: [], authorization: token + [0] + Array("junk".utf8)))
            try await connection.send(
                rawCall(
                    2, method: RPC.NurseryService.createSite.path,
                    payload: field(1, field(1, Array("nsite".utf8)) + field(2, Array("N".utf8)) + field(3, Array("UTC".utf8))),
                    authorization: token, key: Array("abc".utf8) + [0] + Array("def".utf8)))
            // A NUL inside a request's text (a nested message's field).
            try await connection.send(
                rawCall(
                    3, method: RPC.NurseryService.createSite.path,
                    payload: field(1, field(1, Array("big".utf8) + [0] + Array("junk".utf8)) + field(2, Array("N".utf8)) + field(3, Array("UTC".utf8))),
                    authorization: token))
            var replies: [UInt64: Reply] = [:]
            for _ in 1...3 {
                let reply = try await connection.nextReply()
                replies[reply.callID] = reply
            }
            for (id, expected) in [(1, "authorization"), (2, "idempotency_key"), (3, "site.id")] {
                let reply = try #require(replies[UInt64(id)])
                #expect(reply.status.code == .invalidArgument, "call \(id): \(reply.status)")
                #expect(reply.status.message.contains(expected) && reply.status.message.contains("NUL"), "call \(id): \(reply.status.message)")
            }
            let big = try await server.store.site(id: "big"), nsite = try await server.store.site(id: "nsite")
            #expect(big == nil && nsite == nil)
            await connection.close()
        }
    }

    /// Found by a break-in test: error messages quote what the caller sent, so a 4 MB id made a
    /// reply of 8 MB (message and detail), twice the frame limit. Messages are now capped.
    @Test func repliesDoNotGrowWithTheRequest() async throws {
        try await TestServer.with { server in
            let connection = try await RawConnection.connect(port: server.port)
            let huge = String(repeating: "q", count: 3_000_000)
            let payload = try WireCodec.encode(GetSiteRequest(id: huge))
            try await connection.send(
                .call(
                    Call(
                        callID: 1, method: RPC.NurseryService.getSite.path, payload: payload, authorization: server.adminToken)))
            try await connection.send(.call(Call(callID: 2, method: "/sos.scheduler.v1.NurseryService/" + huge)))
            for _ in 1...2 {
                let reply = try await connection.nextReply()
                var encoded = ByteBuffer()
                FrameCodec.encode(.reply(reply), into: &encoded)
                #expect(encoded.readableBytes < 16 << 10, "reply \(reply.callID) is \(encoded.readableBytes) bytes")
                #expect(reply.status.code == .notFound || reply.status.code == .unimplemented || reply.status.code == .invalidArgument, "\(reply.status)")
            }
            await connection.close()
        }
    }

    /// Issue 10 item 1: only calls keep a connection from its idle timeout; pings do not.
    @Test func pingsDoNotKeepAConnectionFromItsIdleTimeout() async throws {
        try await TestServer.with(configure: { $0.idleTimeout = .milliseconds(600) }) { server in
            let connection = try await RawConnection.connect(port: server.port)
            let started = ContinuousClock.now
            var goAway: GoAway?
            pinging: for opaque in 1...60 {
                try? await connection.send(.ping(opaque: UInt64(opaque)))
                while let event = try await connection.next(timeout: .milliseconds(100)) {
                    if case .frame(.goAway(let sent)) = event {
                        goAway = sent
                        break pinging
                    }
                    if event == .closed { break pinging }
                }
            }
            let after = ContinuousClock.now - started
            let sent = try #require(goAway, "a connection that only pings was never closed (\(after))")
            #expect(sent.status.message.contains("idle-timeout"), "\(sent.status)")
            #expect(after < .seconds(3))
        }
    }

    /// Issue 10 item 1: a client that sends pings (or calls) and never reads its replies is
    /// closed once they stop moving, not held for ever. Its idle and partial-frame timeouts
    /// are two minutes here, so within the test's minute only the write timeout can close it.
    @Test func aClientThatNeverReadsIsClosedAfterTheWriteTimeout() async throws {
        try await TestServer.with(configure: {
            $0.writeTimeout = .milliseconds(500)
            $0.idleTimeout = .seconds(120)
            $0.partialFrameTimeout = .seconds(120)
        }) { server in
            let (address, length) = PeerSocket.tcpAddress(port: server.port)
            let fd = try #require(
                PeerSocket.connect(address, length: length) { fd in
                    PeerSocket.set(fd, SO_RCVBUF, 4096)
                    var timeout = timeval(tv_sec: 1, tv_usec: 0)
                    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                })
            defer { close(fd) }
            var buffer = ByteBuffer()
            for opaque in 0..<100_000 { FrameCodec.encode(.ping(opaque: UInt64(opaque)), into: &buffer) }
            let flood = Array(buffer.readableBytesView)
            // Pings until the server closes: the kernel's buffers on both sides take megabytes
            // first, and a server slowed by other tests may stop reading for a while before its
            // replies really stall. Blocking calls, on a thread of their own.
            let (sent, hungUp) = try await PeerSocket.onThread { () -> (Int, Bool) in
                guard PeerSocket.sendAll(fd, Array(Preface.bytes)) else { return (0, false) }
                var sent = 0
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    if PeerSocket.sendAll(fd, flood) {
                        sent += flood.count
                    } else if PeerSocket.waitForHangUp(fd, timeout: .seconds(1)) {
                        return (sent, true)
                    }
                }
                return (sent, false)
            }
            #expect(hungUp, "a client that never reads was not closed within a minute (sent \(sent) bytes)")
        }
    }

    /// Issue 10 item 1: one client address cannot take every connection; others still get in.
    @Test func connectionsFromOneAddressAreCapped() async throws {
        try await TestServer.with(configure: {
            $0.maxConnectionsPerAddress = 3
            $0.closeTimeout = .milliseconds(500)
        }) { server in
            var held: [RawConnection] = []
            for opaque in 1...3 {
                let connection = try await RawConnection.connect(port: server.port)
                try await connection.send(.ping(opaque: UInt64(opaque)))
                #expect(try await connection.nextFrame() == .pong(opaque: UInt64(opaque)))
                held.append(connection)
            }
            // (No preface: the server may have sent its GoAway and closed before one could go.)
            let fourth = try await RawConnection.connect(port: server.port, sendPreface: false)
            let refusal = try await fourth.expectGoAwayAndClose()
            #expect(refusal.status.code == .resourceExhausted)
            #expect(refusal.status.message.contains("max-connections-per-address"), "\(refusal.status)")
            // Another address (127.0.0.2 is loopback too) is served.
            let other = try await RawConnection.connect(port: server.port, source: "127.0.0.2")
            try await other.send(.ping(opaque: 9))
            #expect(try await other.nextFrame() == .pong(opaque: 9))
            // A closed connection gives its place back.
            await held[0].close()
            var admitted = false
            for _ in 1...50 where !admitted {
                let again = try await RawConnection.connect(port: server.port, sendPreface: false)
                try? await again.send(Array(Preface.bytes))
                try? await again.send(.ping(opaque: 10))
                if case .frame(.pong(10))? = try await again.next(timeout: .seconds(2)) { admitted = true }
                await again.close()
                if !admitted { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(admitted)
            for connection in held.dropFirst() + [other] { await connection.close() }
        }
    }

    @Test func silentAndSlowClientsAreClosed() async throws {
        try await withAttempts {
            try await TestServer.with(configure: {
                $0.prefaceTimeout = .milliseconds(1000)
                $0.partialFrameTimeout = .milliseconds(1000)
                $0.idleTimeout = .milliseconds(1500)
            }) { server in
                let silent = try await RawConnection.connect(port: server.port, sendPreface: false)
                let halfPreface = try await RawConnection.connect(port: server.port, sendPreface: false)
                try await halfPreface.send(Array(Preface.bytes.prefix(4)))
                let partial = try await RawConnection.connect(port: server.port)
                try await partial.send([0, 0, 0, 20, 1, 2])
                let idle = try await RawConnection.connect(port: server.port)

                let expected: [(RawConnection, String)] = [
                    (silent, "preface-timeout"), (halfPreface, "preface-timeout"), (partial, "partial-frame-timeout"), (idle, "idle-timeout"),
                ]
                for (connection, limit) in expected {
                    let goAway = try await connection.expectGoAwayAndClose()
                    guard goAway.status.message.contains(limit) else {
                        throw TestFailure("expected a GoAway naming \(limit), got: \(goAway.status.message)")
                    }
                    if limit == "idle-timeout", goAway.status.code != .unavailable {
                        throw TestFailure("an idle connection's GoAway should be UNAVAILABLE, got \(goAway.status.code)")
                    }
                }
            }
        }
    }

    @Test func aSteadyStreamOfSplitFramesIsNotTakenForAStalledOne() async throws {
        try await withAttempts {
            try await TestServer.with(configure: { $0.partialFrameTimeout = .milliseconds(1000) }) { server in
                let connection = try await RawConnection.connect(port: server.port)
                var bytes = ByteBuffer()
                for opaque in 1...12 { FrameCodec.encode(.ping(opaque: UInt64(opaque)), into: &bytes) }
                let stream = Array(bytes.readableBytesView)
                // Every write ends in the middle of a frame, for well over the partial-frame timeout.
                let chunk = stream.count / 16 + 1
                for start in stride(from: 0, to: stream.count, by: chunk) {
                    try await connection.send(Array(stream[start..<min(stream.count, start + chunk)]))
                    try await Task.sleep(for: .milliseconds(100))
                }
                for opaque in 1...12 {
                    let frame = try await connection.nextFrame()
                    guard frame == .pong(opaque: UInt64(opaque)) else { throw TestFailure("expected pong \(opaque), got \(frame)") }
                }
                await connection.close()
            }
        }
    }

    @Test func frameLimitsAreCheckedOnThePrefix() async throws {
        try await TestServer.with(configure: { $0.maxFrameBytes = 1024 }) { server in
            let large = try await RawConnection.connect(port: server.port)
            try await large.send([0, 0, 4, 1])  // 1025 bytes announced, nothing more sent
            let goAway = try await large.expectGoAwayAndClose()
            #expect(goAway.status.code == .resourceExhausted)
            #expect(goAway.status.message.contains("max-frame-bytes"))

            let empty = try await RawConnection.connect(port: server.port)
            try await empty.send([0, 0, 0, 0])
            #expect(try await empty.expectGoAwayAndClose().status.code == .invalidArgument)
        }
    }

    @Test func garbageNeverCostsOtherClientsTheirService() async throws {
        try await TestServer.with { server in
            let client = server.client(token: server.adminToken)
            var generator = SystemRandomNumberGenerator()
            for round in 0..<40 {
                let connection = try await RawConnection.connect(port: server.port, sendPreface: round % 2 == 0)
                let count = Int.random(in: 1...200, using: &generator)
                let garbage = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                try await connection.send(round % 4 == 0 ? RawConnection.framed(garbage) : garbage)
                // Whatever the bytes, the server answers or closes; it never hangs or crashes.
                _ = try await connection.next(timeout: .milliseconds(300))
                await connection.close()
                #expect(try await client.health().store == "sqlite")
            }
            // A deeply nested frame body: a clean GoAway.
            let nested = deeplyNested(levels: 10_000)
            let deep = try await RawConnection.connect(port: server.port)
            try await deep.send(RawConnection.framed(nested))
            #expect(try await deep.expectGoAwayAndClose().status.code == .invalidArgument)
            #expect(try await client.whoAmI().role == .admin)
            await client.close()
        }
    }

    @Test func badPayloadsGetFieldNamedErrorsAndTheConnectionLives() async throws {
        try await TestServer.with(configure: { $0.decodeBudgetBytes = 2 << 20 }) { server in
            let connection = try await RawConnection.connect(port: server.port)
            let token = server.adminToken

            try await connection.send(.call(Call(callID: 1, method: "/sos.scheduler.v1.AdminService/Nope")))
            #expect(try await connection.nextReply().status.code == .unimplemented)

            try await connection.send(call(2, RPC.AdminService.createToken, [0x0a, 0x05, 1], token: token))
            let undecodable = try await connection.nextReply()
            #expect(undecodable.status.code == .invalidArgument, "\(undecodable.status)")

            // name = 0xff 0xfe
            try await connection.send(
                call(3, RPC.AdminService.createToken, [0x08, 0x04, 0x12, 0x0b] + Array("site:almaty".utf8) + [0x1a, 0x02, 0xff, 0xfe], token: token))
            let utf8 = try await connection.nextReply()
            #expect(utf8.status.code == .invalidArgument)
            let violation = try utf8.status.details.first?.decode(as: BadRequest.self)?.violations.first
            #expect(violation?.field == "name")

            try await connection.send(call(4, RPC.AdminService.createToken, [0x08, 42], token: token))
            let enumReply = try await connection.nextReply()
            #expect(enumReply.status.code == .invalidArgument)
            #expect(try enumReply.status.details.first?.decode(as: BadRequest.self)?.violations.first?.field == "role")

            try await connection.send(call(5, RPC.AdminService.createToken, try WireCodec.encode(CreateTokenRequest(role: .unspecified)), token: token))
            let missing = try await connection.nextReply()
            #expect(missing.status.code == .invalidArgument)
            #expect(try missing.status.details.first?.decode(as: BadRequest.self)?.violations.first?.field == "role")

            let nested = deeplyNested(levels: 10_000)
            // No request message nests, so deep nesting is one unknown field: skipped, never recursed into.
            try await connection.send(call(6, RPC.AdminService.whoAmI, nested, token: token))
            #expect(try await connection.nextReply().status.isOK)

            // 512 KiB of empty unknown fields costs far more than the 2 MiB budget to decode.
            let exploding: [UInt8] = (0..<(1 << 19)).map { $0 % 2 == 0 ? 0x7a : 0x00 }
            try await connection.send(call(7, RPC.AdminService.listTokens, exploding, token: token))
            let budget = try await connection.nextReply()
            #expect(budget.status.code == .resourceExhausted)
            #expect(budget.status.message.contains("decode-budget-bytes"))

            // Invalid UTF-8 in the method itself.
            try await connection.send(RawConnection.framed([0x0a, 0x05, 0x08, 0x08, 0x12, 0x01, 0xc3]))
            let method = try await connection.nextReply()
            #expect(method.callID == 8)
            #expect(method.status.code == .invalidArgument)

            try await connection.send(.ping(opaque: 5))
            #expect(try await connection.nextFrame() == .pong(opaque: 5))
            await connection.close()
        }
    }

    @Test func connectionsBeyondTheLimitAreRefused() async throws {
        try await TestServer.with(configure: { $0.maxConnections = 2 }) { server in
            let a = try await RawConnection.connect(port: server.port)
            let b = try await RawConnection.connect(port: server.port)
            try await a.send(.ping(opaque: 1))
            try await b.send(.ping(opaque: 2))
            #expect(try await a.nextFrame() == .pong(opaque: 1))
            #expect(try await b.nextFrame() == .pong(opaque: 2))
            let c = try await RawConnection.connect(port: server.port, sendPreface: false)
            let goAway = try await c.expectGoAwayAndClose()
            #expect(goAway.status.code == .resourceExhausted)
            #expect(goAway.status.message.contains("max-connections"))
            await a.close()
            // Once the server has seen `a` close (a busy machine may take a while), its place is free.
            var served = false
            for _ in 0..<50 where !served {
                try await Task.sleep(for: .milliseconds(100))
                let d = try await RawConnection.connect(port: server.port)
                do {
                    try await d.send(.ping(opaque: 4))
                    served = try await d.nextFrame() == .pong(opaque: 4)
                } catch {
                    served = false
                }
                await d.close()
            }
            #expect(served)
        }
    }
}

@Suite(.timeLimit(.minutes(2)))
struct ShutdownTests {
    @Test func gracefulShutdownSendsGoAwayAndFinishesCallsInFlight() async throws {
        let server = try await TestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        let lock = try WriteLock(directory: server.directory)
        try await connection.send(call(1, RPC.AdminService.createToken, try createPayload("in flight"), token: server.adminToken))
        // Frames are handled in order: the Pong proves the call has started.
        try await connection.send(.ping(opaque: 1))
        #expect(try await connection.nextFrame() == .pong(opaque: 1))
        let shutdown = Task { try await server.server.shutdownGracefully() }
        let goAway = try await connection.nextFrame()
        #expect(goAway == .goAway(GoAway(status: Status(.unavailable, "the server is shutting down"), lastCallID: 1)))
        // A call after the GoAway is not started.
        try await connection.send(call(2, RPC.AdminService.health))
        let refused = try await connection.nextReply()
        #expect(refused.callID == 2)
        #expect(refused.status.code == .unavailable)
        try lock.release()
        let finished = try await connection.nextReply()
        #expect(finished.callID == 1)
        #expect(finished.status.isOK)
        #expect(try await connection.next() == .closed)
        try await shutdown.value
        let names = try await server.store.listTokens(includeRevoked: true, after: nil, limit: 10).tokens.map(\.name)
        #expect(names.contains("in flight"))
        try await server.store.close()
    }

    /// An idempotency key or an authorization longer than any the service issues is refused
    /// before anything is looked up; the connection stays usable.
    @Test func oversizedKeysAndAuthorizationsAreRefusedUpFront() async throws {
        try await TestServer.with { server in
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(call(1, RPC.AdminService.whoAmI, token: server.adminToken, key: String(repeating: "k", count: 129)))
            let key = try await connection.nextReply()
            #expect(key.status.code == .invalidArgument)
            #expect(key.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field == "idempotency_key")
            try await connection.send(call(2, RPC.AdminService.whoAmI, token: String(repeating: "t", count: 257)))
            let token = try await connection.nextReply()
            #expect(token.status.code == .unauthenticated)
            #expect(token.status.message.contains("256 bytes"))
            // Within the limits, the same connection answers.
            try await connection.send(call(3, RPC.AdminService.whoAmI, token: server.adminToken, key: String(repeating: "k", count: 128)))
            #expect(try await connection.nextReply().status.code == .ok)
            await connection.close()
        }
    }

    /// Names are limited in bytes of UTF-8, what is stored and sent: 100 Cyrillic letters (200
    /// bytes) fit, 101 do not.
    @Test func namesAreLimitedInBytes() async throws {
        try await TestServer.with { server in
            let client = server.client(token: server.adminToken)
            let site = RPC.NurseryService.createSite
            let _: SiteMessage = try await client.call(
                site, CreateSiteRequest(site: SiteMessage(id: "fits", name: String(repeating: "Ж", count: 100), timeZone: "Asia/Almaty")), options: .mutation())
            await #expect {
                let _: SiteMessage = try await client.call(
                    site, CreateSiteRequest(site: SiteMessage(id: "long", name: String(repeating: "Ж", count: 101), timeZone: "Asia/Almaty")),
                    options: .mutation())
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                return error.code == .invalidArgument && error.status.message.contains("200 bytes")
            }
            await client.close()
        }
    }

    /// A call that timed out leaves its task running; a new call reusing its id gets its own
    /// reply, never the late task's.
    @Test func aReusedCallIDGetsItsOwnReply() async throws {
        try await TestServer.with { server in
            let connection = try await RawConnection.connect(port: server.port)
            let lock = try WriteLock(directory: server.directory)
            try await connection.send(call(1, RPC.AdminService.createToken, try createPayload("first"), token: server.adminToken, timeoutMs: 200))
            #expect(try await connection.nextReply().status.code == .deadlineExceeded)
            try await connection.send(call(1, RPC.AdminService.createToken, try createPayload("second"), token: server.adminToken))
            try lock.release()
            let reply = try await connection.nextReply()
            #expect(reply.callID == 1)
            #expect(reply.status.isOK, "\(reply.status.message)")
            #expect(try WireCodec.decode(CreateTokenResponse.self, from: reply.payload).token?.name == "second")
            // And nothing more for that id.
            try await connection.send(.ping(opaque: 9))
            #expect(try await connection.nextFrame() == .pong(opaque: 9))
            await connection.close()
        }
    }
}
