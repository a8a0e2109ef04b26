import Foundation
import NIOCore
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A large batch through the real server and a bare socket that reads when the test says: the
/// plan streams before it is saved, so a reader that stops holds the server back (its memory
/// does not grow with the answer) and a reader that cancels leaves nothing saved.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct MentorBatchStreamTests {
    /// 300 young people, 10 mentors: 3,000 sessions, some 250 KB of answer (the buffers hold
    /// less than a third of it).
    static func seed(_ store: any Store) async throws -> [BatchItemMessage] {
        try await CounsellingFixture.seed(store)
        let allWeek = Availability(windows: Weekday.allCases.map { WeeklyWindow(weekday: $0, start: 8 * 60, end: 20 * 60) })
        let context = MutationContext(actor: nil, method: "test")
        let people = (0..<300).map { YoungPerson(id: "big-\($0)", homeID: "home-1", name: "Big \($0)", availability: allWeek) }
        _ = try await store.importCounselling(siteID: "almaty", homes: [], youngPeople: people, counsellors: [], context: context, reply: { _ in [] })
        let mentors = (0..<10).map { Mentor(id: "bm-\($0)", siteID: "almaty", fields: ["it"], capacity: 40, availability: allWeek) }
        _ = try await store.importMentors(siteID: "almaty", mentors: mentors, context: context, reply: { _ in [] })
        return people.map { BatchItemMessage(youngPersonID: $0.id, fields: ["it"], sessions: 10, from: "2030-01-07", to: "2030-03-31") }
    }

    /// Connects with a small receive buffer and sends the batch; the server's send buffer is small too.
    static func send(_ items: [BatchItemMessage], port: Int, token: String) throws -> Int32 {
        let (address, length) = PeerSocket.tcpAddress(port: port)
        guard let fd = PeerSocket.connect(address, length: length, prepare: { PeerSocket.set($0, SO_RCVBUF, Int32(4096)) }) else {
            throw TestFailure("could not connect")
        }
        var buffer = ByteBuffer()
        buffer.writeBytes(Preface.bytes)
        let request = BatchAssignRequest(siteID: "almaty", batchID: "big", items: items)
        FrameCodec.encode(
            .call(Call(callID: 1, method: RPC.MentoringService.batchAssign.path, payload: try WireCodec.encode(request), authorization: token)), into: &buffer)
        guard PeerSocket.sendAll(fd, Array(buffer.readableBytesView)) else { throw TestFailure("could not send the batch") }
        return fd
    }

    /// Reads the server's replies off the socket when the test says, parsing each frame once.
    final class ReplyReader {
        private let fd: Int32
        private var reader = FrameReader(maxFrameBytes: 8 << 20)
        private(set) var replies: [Reply] = []
        private var checked = 0

        init(fd: Int32) { self.fd = fd }

        /// Reads what waits in the socket now, up to `limit` bytes; returns how many.
        @discardableResult func readWaiting(limit: Int = 64 << 20) throws -> Int {
            var total = 0
            var chunk = [UInt8](repeating: 0, count: 4096)
            while total < limit {
                let n = recv(fd, &chunk, min(chunk.count, limit - total), Int32(MSG_DONTWAIT))
                guard n > 0 else { break }
                total += n
                var input = ByteBuffer(bytes: chunk[0..<n])
                reader.append(&input)
            }
            while let body = try reader.next() {
                if case .reply(let reply) = try FrameCodec.decodeServerFrame(body, budget: 8 << 20) { replies.append(reply) }
            }
            return total
        }

        /// Reads 4 KiB at a time until a new reply satisfies `stop` (and returns it), or `timeout` passes.
        func read(until stop: (Reply) throws -> Bool, timeout: Duration) async throws -> Reply? {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                try readWaiting(limit: 4096)
                while checked < replies.count {
                    let reply = replies[checked]
                    checked += 1
                    if try stop(reply) { return reply }
                }
                try await Task.sleep(for: .milliseconds(1))
            }
            return nil
        }

        /// The first reply that carries part of the answer: the planning is done.
        func firstPart() async throws -> Reply? {
            try await read(
                until: { reply in
                    guard !reply.payload.isEmpty else { return false }
                    return try !WireCodec.decode(BatchAssignResponse.self, from: reply.payload).assignments.isEmpty
                }, timeout: .seconds(60))
        }

        /// The call's last reply, with its final status.
        func end() async throws -> Reply? { try await read(until: \.endOfStream, timeout: .seconds(90)) }
    }

    @Test func aReaderThatStopsHoldsTheBatchBackAndOneThatReadsOnGetsItSaved() async throws {
        try await StoreServer.with(.sqlite, configure: { $0.socketSendBufferBytes = 4096 }) { server in
            let items = try await Self.seed(server.store)
            let fd = try Self.send(items, port: server.port, token: server.adminToken)
            defer { close(fd) }
            let reader = ReplyReader(fd: fd)
            _ = try #require(try await reader.firstPart())
            // Now stop reading for 3 s: the server makes no more than the buffers hold, and saves nothing yet.
            try await Task.sleep(for: .seconds(3))
            #expect(try await server.store.mentorBatch(id: "big") == nil, "saved before the answer was read")
            // What waits is the kernel's buffers' worth (4 KiB each way, doubled by Linux), not
            // the answer's 250 KB: the server's handler waits to send the rest.
            let during = try reader.readWaiting()
            #expect(during < 60_000, "\(during) bytes waiting after the pause")
            // Reading on: the whole answer, then the result, and the batch is stored.
            let end = try #require(try await reader.end())
            #expect(end.status.code == .ok)
            let messages = try reader.replies.filter { !$0.payload.isEmpty }.map { try WireCodec.decode(BatchAssignResponse.self, from: $0.payload) }
            let sessions = messages.reduce(0) { $0 + $1.sessions.count }
            let result = try #require(messages.compactMap(\.result).last)
            #expect(result.saved && result.sessionsPlaced == UInt32(sessions) && sessions == 3_000)
            #expect(try await server.store.mentorBatch(id: "big") != nil)
        }
    }

    @Test func cancellingMidStreamSavesNothing() async throws {
        try await StoreServer.with(.sqlite, configure: { $0.socketSendBufferBytes = 4096 }) { server in
            let items = try await Self.seed(server.store)
            let fd = try Self.send(items, port: server.port, token: server.adminToken)
            defer { close(fd) }
            let reader = ReplyReader(fd: fd)
            _ = try #require(try await reader.firstPart())
            var cancel = ByteBuffer()
            FrameCodec.encode(.cancel(callID: 1), into: &cancel)
            #expect(PeerSocket.sendAll(fd, Array(cancel.readableBytesView)))
            #expect(try #require(try await reader.end()).status.code == .cancelled)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await server.store.mentorBatch(id: "big") == nil)
            let stored = try await server.store.mentorSessions(MentorSessionFilter(siteID: "almaty", includeCancelled: true), after: nil, limit: 10)
            #expect(stored.items.isEmpty)
        }
    }
}
