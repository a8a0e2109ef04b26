import NIOCore
import SchedulerWire
import Testing

struct FrameReaderTests {
    func frames(_ bodies: [[UInt8]]) -> [UInt8] {
        bodies.flatMap { body -> [UInt8] in
            let n = UInt32(body.count)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
        }
    }

    func feed(_ reader: inout FrameReader, _ bytes: [UInt8]) {
        var buffer = ByteBuffer(bytes: bytes)
        reader.append(&buffer)
    }

    @Test func readsSplitFramesByteByByte() throws {
        let bodies: [[UInt8]] = [[1, 2, 3], Array(repeating: 7, count: 300), [9]]
        var reader = FrameReader(maxFrameBytes: 1024)
        var got: [[UInt8]] = []
        for byte in frames(bodies) {
            feed(&reader, [byte])
            while let body = try reader.next() { got.append(Array(body.readableBytesView)) }
        }
        #expect(got == bodies)
        #expect(!reader.hasPartialFrame)
    }

    @Test func readsCoalescedFrames() throws {
        let bodies: [[UInt8]] = (1...50).map { Array(repeating: UInt8($0), count: $0) }
        var reader = FrameReader(maxFrameBytes: 1024)
        feed(&reader, frames(bodies))
        var got: [[UInt8]] = []
        while let body = try reader.next() { got.append(Array(body.readableBytesView)) }
        #expect(got == bodies)
    }

    @Test func checksTheLimitOnThePrefixAlone() throws {
        var reader = FrameReader(maxFrameBytes: 1024)
        feed(&reader, [0, 0, 4, 1])  // 1025 bytes announced, none sent
        #expect {
            try reader.next()
        } throws: { error in
            (error as? WireError)?.code == .frameTooLarge
        }
        var exact = FrameReader(maxFrameBytes: 1024)
        feed(&exact, [0, 0, 4, 0])
        #expect(try exact.next() == nil)
        #expect(exact.hasPartialFrame)
    }

    @Test func refusesZeroLength() throws {
        var reader = FrameReader(maxFrameBytes: 1024)
        feed(&reader, [0, 0, 0, 0, 1])
        #expect {
            try reader.next()
        } throws: { error in
            (error as? WireError)?.code == .emptyFrame
        }
    }

    @Test func waitsOnTruncatedFrames() throws {
        var reader = FrameReader(maxFrameBytes: 1024)
        feed(&reader, [0, 0, 0, 10, 1, 2, 3])
        #expect(try reader.next() == nil)
        #expect(reader.hasPartialFrame)
        feed(&reader, [4, 5, 6, 7, 8, 9, 10])
        let body = try #require(try reader.next())
        #expect(Array(body.readableBytesView) == Array(1...10))
    }
}

struct FrameCodecTests {
    func body(_ frame: ClientFrame) -> ByteBuffer {
        var buffer = ByteBuffer()
        FrameCodec.encode(frame, into: &buffer)
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer
    }

    @Test(arguments: [
        ClientFrame.call(
            Call(callID: 7, method: RPC.AdminService.health.path, payload: [1, 2, 3], timeoutMs: 250, authorization: "sos_x", idempotencyKey: "k1")),
        ClientFrame.call(Call(callID: .max, method: "", payload: [])),
        ClientFrame.cancel(callID: 99),
        ClientFrame.ping(opaque: 0xdead_beef),
    ])
    func clientFramesRoundTrip(_ frame: ClientFrame) throws {
        #expect(try FrameCodec.decodeClientFrame(body(frame), budget: 1 << 20) == .frame(frame))
    }

    @Test func serverFramesRoundTrip() throws {
        let detail = try Detail(BadRequest(violations: [FieldViolationMessage(field: "role", description: "required")]))
        let frames: [ServerFrame] = [
            .reply(Reply(callID: 1, status: .ok, payload: [0x0a, 0x01, 0x41])),
            .reply(Reply(callID: 2, status: Status(.invalidArgument, "role is required", details: [detail]), endOfStream: true)),
            .reply(Reply(callID: 3, status: .ok, payload: [], endOfStream: false)),
            .pong(opaque: 42),
            .goAway(GoAway(status: Status(.unavailable, "shutting down"), lastCallID: 12)),
        ]
        for frame in frames {
            var buffer = ByteBuffer()
            FrameCodec.encode(frame, into: &buffer)
            let prefix = buffer.readInteger(as: UInt32.self)
            let length = try #require(prefix)
            #expect(Int(length) == buffer.readableBytes)
            #expect(try FrameCodec.decodeServerFrame(buffer, budget: 1 << 20) == frame)
        }
    }

    @Test func invalidUTF8InACallKeepsTheCallID() throws {
        // ClientFrame{call{call_id: 5, method: 0xff}}
        let call: [UInt8] = [0x08, 0x05, 0x12, 0x01, 0xff]
        let bytes: [UInt8] = [0x0a, UInt8(call.count)] + call
        let decoded = try FrameCodec.decodeClientFrame(ByteBuffer(bytes: bytes), budget: 1 << 20)
        guard case .invalidCall(let id, let error) = decoded else {
            Issue.record("expected invalidCall, got \(decoded)")
            return
        }
        #expect(id == 5)
        #expect(error.field == "method")
    }

    @Test func aServerFrameIsNotAClientFrame() throws {
        var buffer = ByteBuffer()
        FrameCodec.encode(.goAway(GoAway(status: Status(.unavailable, "x"), lastCallID: 1)), into: &buffer)
        buffer.moveReaderIndex(forwardBy: 4)
        // GoAway is field 3 of ServerFrame, which is Ping in ClientFrame: its Status bytes do not
        // decode as a Ping, so this is a clean error rather than a wrong frame.
        #expect(throws: WireError.self) { try FrameCodec.decodeClientFrame(buffer, budget: 1 << 20) }
    }

    @Test func emptyFrameKindIsRefused() throws {
        // An unknown field only: no call, cancel or ping.
        #expect(throws: WireError.self) { try FrameCodec.decodeClientFrame(ByteBuffer(bytes: [0x78, 0x01]), budget: 1 << 20) }
    }

    @Test func frameBudgetIsEnforced() throws {
        // 1 MiB of unknown length-delimited fields (field 15): each costs an allocation record.
        let bytes: [UInt8] = (0..<(1 << 20)).map { $0 % 2 == 0 ? 0x7a : 0x00 }
        #expect {
            try FrameCodec.decodeClientFrame(ByteBuffer(bytes: bytes), budget: 1 << 20)
        } throws: { error in
            (error as? WireError)?.code == .budgetExceeded
        }
    }
}
