import Foundation
import NIOCore
import NIOPosix
import SchedulerWire
import Synchronization

/// A bare socket to the server for protocol tests: sends exactly the bytes a test gives and
/// collects the server frames that come back, without any of the client library's help.
public final class RawConnection: Sendable {
    public enum Event: Sendable, Equatable {
        case frame(ServerFrame)
        case undecodable
        case closed
    }

    private let channel: any Channel
    private let events: EventQueue

    private init(channel: any Channel, events: EventQueue) {
        self.channel = channel
        self.events = events
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let sink: @Sendable (Event) -> Void
        let reader = Mutex(FrameReader(maxFrameBytes: 64 << 20))

        init(sink: @escaping @Sendable (Event) -> Void) { self.sink = sink }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            reader.withLock { reader in
                reader.append(&bytes)
                while let body = try? reader.next() {
                    if let frame = try? FrameCodec.decodeServerFrame(body, budget: 1 << 30) {
                        sink(.frame(frame))
                    } else {
                        sink(.undecodable)
                    }
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            sink(.closed)
        }
    }

    /// Connects to 127.0.0.1:`port` (from the loopback address `source`, when given), sending
    /// the preface unless told not to.
    public static func connect(
        port: Int, sendPreface: Bool = true, source: String? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RawConnection {
        let events = EventQueue()
        var bootstrap = ClientBootstrap(group: group)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel =
            try await bootstrap
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector { event in events.append(event) })
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let connection = RawConnection(channel: channel, events: events)
        if sendPreface { try await connection.send(Preface.bytes) }
        return connection
    }

    public func send(_ bytes: [UInt8]) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await channel.writeAndFlush(buffer)
    }

    public func send(_ frame: ClientFrame) async throws {
        var buffer = channel.allocator.buffer(capacity: 64)
        FrameCodec.encode(frame, into: &buffer)
        try await channel.writeAndFlush(buffer)
    }

    /// A frame whose body is `body`, with its length prefix.
    public static func framed(_ body: [UInt8]) -> [UInt8] {
        let n = UInt32(body.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
    }

    /// The next event, waiting up to `timeout`; `nil` if none came.
    public func next(timeout: Duration = .seconds(10)) async throws -> Event? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = events.pop() { return event }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// The next server frame; fails on close or timeout.
    public func nextFrame(timeout: Duration = .seconds(10)) async throws -> ServerFrame {
        switch try await next(timeout: timeout) {
        case .frame(let frame): return frame
        case .undecodable: throw TestFailure("the server sent an undecodable frame")
        case .closed: throw TestFailure("the connection closed")
        case nil: throw TestFailure("no frame within \(timeout)")
        }
    }

    /// The next reply; fails on anything else.
    public func nextReply(timeout: Duration = .seconds(10)) async throws -> Reply {
        let frame = try await nextFrame(timeout: timeout)
        guard case .reply(let reply) = frame else { throw TestFailure("expected a reply, got \(frame)") }
        return reply
    }

    /// Waits for a GoAway followed by the connection closing; returns the GoAway.
    public func expectGoAwayAndClose(timeout: Duration = .seconds(10)) async throws -> GoAway {
        let frame = try await nextFrame(timeout: timeout)
        guard case .goAway(let goAway) = frame else { throw TestFailure("expected a GoAway, got \(frame)") }
        guard try await next(timeout: timeout) == .closed else { throw TestFailure("connection stayed open after GoAway") }
        return goAway
    }

    public func close() async {
        try? await channel.close()
    }
}

/// Events from the channel handler, in arrival order.
private final class EventQueue: Sendable {
    private let events = Mutex<[RawConnection.Event]>([])

    func append(_ event: RawConnection.Event) { events.withLock { $0.append(event) } }

    func pop() -> RawConnection.Event? { events.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
}
