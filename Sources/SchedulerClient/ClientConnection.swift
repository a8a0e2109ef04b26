import NIOCore
import NIOPosix
import NIOSSL
import SchedulerWire
import Synchronization

/// Why a call on a connection did not get a reply from the server.
enum ConnectionFailure: Error {
    /// The server's GoAway said it did not start the call: safe to retry anywhere.
    case notStarted(Status)
    /// The connection closed while the call was in flight: the call may or may not have run.
    case closed(Status)
}

/// Handles one connection's frames on its event loop: sends the preface, matches replies to
/// calls by id, answers pongs, and fails what is left when the connection ends.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    typealias ReplySource = NIOThrowingAsyncSequenceProducer<
        Reply, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, StreamFlow
    >.Source

    /// Who waits for a call's replies: one reply, or a stream of them.
    private enum Waiter {
        case unary(EventLoopPromise<Reply>)
        case stream(ReplySource)

        func fail(_ error: any Error) {
            switch self {
            case .unary(let promise): promise.fail(error)
            case .stream(let source): source.finish(error)
            }
        }
    }

    private var reader: FrameReader
    private var pending: [UInt64: Waiter] = [:]
    private var pings: [UInt64: EventLoopPromise<Void>] = [:]
    private var context: ChannelHandlerContext?
    private let onGoAway: @Sendable () -> Void
    private(set) var goAway: GoAway?
    private var closed = false
    private var failure: String?

    init(maxFrameBytes: Int, onGoAway: @escaping @Sendable () -> Void) {
        reader = FrameReader(maxFrameBytes: maxFrameBytes)
        self.onGoAway = onGoAway
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: Preface.count)
        buffer.writeBytes(Preface.bytes)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func send(_ call: Call, promise: EventLoopPromise<Reply>) { start(call, .unary(promise)) }

    /// Starts a server-streaming call whose replies go to `source`.
    func startStream(_ call: Call, source: ReplySource) { start(call, .stream(source)) }

    private func start(_ call: Call, _ waiter: Waiter) {
        guard let context, !closed else {
            waiter.fail(ConnectionFailure.notStarted(Status(.unavailable, failure ?? "the connection is closed")))
            return
        }
        if let goAway, call.callID > goAway.lastCallID {
            waiter.fail(ConnectionFailure.notStarted(goAway.status))
            return
        }
        pending[call.callID] = waiter
        var buffer = context.channel.allocator.buffer(capacity: 64 + call.payload.count)
        FrameCodec.encode(.call(call), into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func cancel(_ callID: UInt64) {
        guard let waiter = pending.removeValue(forKey: callID), let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 16)
        FrameCodec.encode(.cancel(callID: callID), into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        waiter.fail(CancellationError())
        resumeReading()
    }

    /// A stream's consumer wants more: read from the socket again.
    func resumeReading() {
        guard let context, !closed else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        context.read()
    }

    private func deliver(_ reply: Reply, context: ChannelHandlerContext) {
        switch pending[reply.callID] {
        case .unary(let promise):
            pending[reply.callID] = nil
            promise.succeed(reply)
        case .stream(let source):
            if reply.endOfStream { pending[reply.callID] = nil }
            let result = source.yield(reply)
            if reply.endOfStream {
                source.finish()
            } else if result == .stopProducing {
                // The consumer is behind: stop reading until it catches up, so the server's
                // writes back up and its producer waits (no memory grows on either side).
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            }
        case nil:
            break
        }
    }

    func ping(_ opaque: UInt64, promise: EventLoopPromise<Void>) {
        guard let context, !closed else {
            promise.fail(ConnectionFailure.closed(Status(.unavailable, failure ?? "the connection is closed")))
            return
        }
        pings[opaque] = promise
        var buffer = context.channel.allocator.buffer(capacity: 16)
        FrameCodec.encode(.ping(opaque: opaque), into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        reader.append(&bytes)
        do {
            while let body = try reader.next() {
                switch try FrameCodec.decodeServerFrame(body, budget: WireCodec.defaultDecodeBudget) {
                case .reply(let reply):
                    deliver(reply, context: context)
                case .pong(let opaque):
                    pings.removeValue(forKey: opaque)?.succeed()
                case .goAway(let goAway):
                    receivedGoAway(goAway)
                }
            }
        } catch {
            failAll(Status(.internal, "the server sent a frame the client cannot read: \(error.message)"))
            context.close(promise: nil)
        }
    }

    private func receivedGoAway(_ goAway: GoAway) {
        self.goAway = goAway
        onGoAway()
        for (id, waiter) in pending where id > goAway.lastCallID {
            pending[id] = nil
            waiter.fail(ConnectionFailure.notStarted(goAway.status))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let status = goAway?.status ?? Status(.unavailable, failure ?? "the connection to the server closed")
        failAll(status)
        onGoAway()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed TLS handshake (untrusted certificate, wrong name, a server without TLS) says so.
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            failure = "TLS with the server failed (\(error)); check --tls-ca and the server's certificate"
        }
        context.close(promise: nil)
    }

    private func failAll(_ status: Status) {
        let calls = pending
        pending.removeAll()
        for (_, waiter) in calls { waiter.fail(ConnectionFailure.closed(status)) }
        let waiting = pings
        pings.removeAll()
        for (_, promise) in waiting { promise.fail(ConnectionFailure.closed(status)) }
    }
}

/// One open connection: its channel and handler.
final class ClientConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<ClientHandler>
    private let goingAway = Atomic<Bool>(false)

    private init(channel: any Channel, handler: NIOLoopBound<ClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Whether new calls should go to a fresh connection (GoAway received or closed).
    var isUsable: Bool { !goingAway.load(ordering: .acquiring) && channel.isActive }

    static func connect(
        to address: ServerAddress, group: any EventLoopGroup, maxFrameBytes: Int, timeout: Duration, tls: NIOSSLContext? = nil
    ) async throws -> ClientConnection {
        let marker = GoAwayMarker()
        // TLS only over TCP; the server's name (not an IP address, which is checked against the
        // certificate's IP entries instead) goes in SNI and is verified.
        var serverName: String?
        if case .tcp(let host, _) = address, (try? SocketAddress(ipAddress: host, port: 0)) == nil { serverName = host }
        let useTLS: NIOSSLContext? = if case .tcp = address { tls } else { nil }
        // The handler is kept as it is added: a connection the server closes at once (an idle
        // timeout on a busy machine) has no handlers left to look up, and must still come back
        // as a connection that is not usable, so the call is retried on a new one.
        let added = Mutex<NIOLoopBound<ClientHandler>?>(nil)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let useTLS {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: useTLS, serverHostname: serverName))
                    }
                    let handler = ClientHandler(maxFrameBytes: maxFrameBytes, onGoAway: { marker.set() })
                    try channel.pipeline.syncOperations.addHandler(handler)
                    added.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
        let channel: any Channel
        switch address {
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
        guard let handler = added.withLock({ $0 }) else {
            try? await channel.close()
            throw ConnectionFailure.notStarted(Status(.unavailable, "the connection was set up without its handler"))
        }
        let connection = ClientConnection(channel: channel, handler: handler)
        marker.connection.withLock { $0 = connection }
        if marker.isSet { connection.markGoingAway() }
        return connection
    }

    func markGoingAway() { goingAway.store(true, ordering: .releasing) }

    func send(_ call: Call) -> EventLoopFuture<Reply> {
        let promise = channel.eventLoop.makePromise(of: Reply.self)
        let handler = self.handler
        channel.eventLoop.execute { handler.value.send(call, promise: promise) }
        return promise.futureResult
    }

    func cancel(_ callID: UInt64) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.cancel(callID) }
    }

    /// Sends a server-streaming call; its replies arrive in the returned sequence, which reads
    /// from the socket only as fast as it is consumed.
    func stream(_ call: Call) -> NIOThrowingAsyncSequenceProducer<
        Reply, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, StreamFlow
    > {
        let produced = NIOThrowingAsyncSequenceProducer.makeSequence(
            elementType: Reply.self, backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 4, highWatermark: 32),
            finishOnDeinit: true,
            delegate: StreamFlow(connection: self, callID: call.callID))
        let handler = self.handler
        let source = produced.source
        channel.eventLoop.execute { handler.value.startStream(call, source: source) }
        return produced.sequence
    }

    func resumeReading() {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.resumeReading() }
    }

    func ping(_ opaque: UInt64) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        channel.eventLoop.execute { handler.value.ping(opaque, promise: promise) }
        return promise.futureResult
    }

    func close() async {
        try? await channel.close()
    }
}

/// A streaming call's flow: more is wanted (read again), or the consumer went away (Cancel).
struct StreamFlow: NIOAsyncSequenceProducerDelegate {
    let connection: ClientConnection
    let callID: UInt64

    func produceMore() { connection.resumeReading() }
    func didTerminate() { connection.cancel(callID) }
}

/// Lets the handler flag its connection as going away before the connection object exists.
final class GoAwayMarker: Sendable {
    private let flag = Atomic<Bool>(false)
    let connection = Mutex<ClientConnection?>(nil)

    func set() {
        flag.store(true, ordering: .releasing)
        connection.withLock { $0?.markGoingAway() }
    }

    var isSet: Bool { flag.load(ordering: .acquiring) }
}
