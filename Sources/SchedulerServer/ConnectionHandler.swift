import Foundation
import Logging
import NIOCore
import NIOTLS
import SchedulerCore
import SchedulerWire
import Synchronization

/// One client connection. The protocol's decisions (which calls start, which are refused,
/// what a deadline, a Cancel, a drain or a timer does) are `ConnectionStateMachine`'s; this
/// handler reads frames, feeds the machine and carries out its actions: writing frames,
/// running handlers (cheap reads inline on the event loop, the rest in tasks), cancelling them,
/// closing. All its state lives on the channel's event loop.
final class ConnectionHandler: ChannelInboundHandler {
    /// Longest idempotency key a call may carry (the CLI's are 32 characters).
    static let maxIdempotencyKeyBytes = 128
    /// Longest authorization a call may carry (tokens are about 50 characters).
    static let maxAuthorizationBytes = 256
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What runs for a call the machine started: its commit gate, task, deadline timer and,
    /// for a stream, the producer waiting for the socket to drain.
    private struct Running {
        var generation: UInt64
        var gate: CallState
        var task: Task<Void, Never>?
        var timer: Scheduled<Void>?
        var writable: EventLoopPromise<Void>?
    }

    private let runtime: ServerRuntime
    private var machine: ConnectionStateMachine
    private var reader: FrameReader
    private var running: [UInt64: Running] = [:]
    private var output: ByteBuffer
    private var flushScheduled = false
    /// Who the connection is for the token lookups' allowance: its IP address, or "unix".
    private var client = "unix"
    private var ticker: RepeatedTask?
    private var context: ChannelHandlerContext?
    /// The channel's loop, kept after the handler is removed (a stream's producer may still ask).
    private var eventLoop: any EventLoop
    private var logger: Logger

    init(runtime: ServerRuntime, eventLoop: any EventLoop, tls: Bool = false) {
        self.runtime = runtime
        self.eventLoop = eventLoop
        let config = runtime.configuration
        self.machine = ConnectionStateMachine(
            limits: .init(
                maxCallsInFlight: config.maxCallsInFlight, maxIdempotencyKeyBytes: Self.maxIdempotencyKeyBytes,
                maxAuthorizationBytes: Self.maxAuthorizationBytes, prefaceTimeout: config.prefaceTimeout,
                partialFrameTimeout: config.partialFrameTimeout, idleTimeout: config.idleTimeout,
                tlsHandshakeTimeout: config.tlsHandshakeTimeout, writeTimeout: config.writeTimeout),
            tls: tls, now: .now())
        self.reader = FrameReader(maxFrameBytes: config.maxFrameBytes)
        self.output = ByteBufferAllocator().buffer(capacity: 0)
        self.logger = runtime.logger
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.output = context.channel.allocator.buffer(capacity: 256)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        logger[metadataKey: "peer"] = "\(context.remoteAddress.map { "\($0)" } ?? "unix")"
        client = context.remoteAddress?.ipAddress ?? "unix"
        switch runtime.admit(context.channel, address: context.remoteAddress?.ipAddress) {
        case .admitted:
            break
        case .refused(let status):
            perform(machine.refuse(status))
            return
        case .dropped:
            machine.closing()
            context.close(promise: nil)
            return
        }
        if runtime.isDraining {
            perform(machine.refuse(Status(.unavailable, "the server is shutting down")))
            return
        }
        let config = runtime.configuration
        let shortest = min(
            config.prefaceTimeout, config.partialFrameTimeout, config.idleTimeout, config.writeTimeout, config.tlsHandshakeTimeout)
        let tick = max(TimeAmount.milliseconds(10), TimeAmount(shortest / 4))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.checkTimeouts()
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        ticker?.cancel()
        ticker = nil
        runtime.remove(context.channel)
        for (_, call) in running { _ = call.gate.stop(.cancelled) }
        perform(machine.connectionClosed())
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard machine.state != .closed else { return }
        var bytes = unwrapInboundIn(data)
        reader.append(&bytes)
        if machine.state == .awaitingPreface {
            guard checkPreface() else { return }
        }
        var completed = 0
        do {
            while machine.isOpen, let body = try reader.next() {
                completed += 1
                handleFrame(body)
            }
        } catch {
            let code: StatusCode = error.code == .frameTooLarge ? .resourceExhausted : .invalidArgument
            perform(machine.unreadableFrame(Status(code, error.message)))
            return
        }
        machine.readDone(completedFrames: completed, hasPartialFrame: reader.hasPartialFrame, now: .now())
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    /// A client that does not read its replies stops being read from, so unsent replies cannot
    /// pile up without bound; reading resumes when the socket drains, and so do the streams
    /// whose producers wait for it.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        context.channel.setOption(ChannelOptions.autoRead, value: writable).whenFailure { _ in }
        if writable {
            for (id, call) in running where call.writable != nil {
                running[id]?.writable = nil
                call.writable?.succeed()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            machine.handshakeCompleted()
        }
        guard let event = event as? DrainEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch event {
        case .begin:
            // Streams end now; unary calls may finish within the drain timeout.
            var streams = Set<UInt64>()
            for (id, call) in machine.calls where call.kind == .serverStreaming {
                if let gate = running[id]?.gate, gate.stop(.cancelled) { streams.insert(id) }
            }
            perform(machine.drainBegan(stoppedStreams: streams))
            flush()
        case .force:
            var stopped = Set<UInt64>()
            for (id, _) in machine.calls {
                if let gate = running[id]?.gate, gate.stop(.cancelled) { stopped.insert(id) }
            }
            perform(machine.drainForced(stopped: stopped))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Preface and frames

    /// Checks the bytes buffered so far against the preface; refuses a mismatch at once.
    private func checkPreface() -> Bool {
        let seen = reader.bufferedPrefix.prefix(Preface.count)
        guard seen.elementsEqual(Preface.bytes.prefix(seen.count)) else {
            perform(machine.prefaceRejected())
            return false
        }
        guard seen.count == Preface.count else { return false }
        _ = reader.readBytes(Preface.count)
        machine.prefaceReceived()
        return true
    }

    private func handleFrame(_ body: ByteBuffer) {
        let decoded: DecodedClientFrame
        do {
            decoded = try FrameCodec.decodeClientFrame(body, budget: runtime.configuration.decodeBudgetBytes)
        } catch {
            let code: StatusCode = error.code == .budgetExceeded ? .resourceExhausted : .invalidArgument
            perform(machine.unreadableFrame(Status(code, error.message)))
            return
        }
        switch decoded {
        case .invalidCall(let id, let error):
            perform(machine.invalidCall(id, StatusMapping.status(for: error)))
        case .frame(.ping(let opaque)):
            perform(machine.ping(opaque))
        case .frame(.cancel(let id)):
            let stopped = running[id]?.gate.stop(.cancelled) ?? false
            perform(machine.cancelReceived(id, stopped: stopped, now: .now()))
        case .frame(.call(let call)):
            let entry = runtime.methods.entries[call.method]
            perform(machine.callReceived(call, kind: entry?.method.kind, now: .now()), starting: entry.map { (call, $0) })
        }
    }

    // MARK: Actions

    private func perform(_ actions: [ConnectionStateMachine.Action], starting: (Call, MethodEntry)? = nil) {
        for action in actions {
            switch action {
            case .send(let frame):
                FrameCodec.encode(frame, into: &output)
            case .start(let id, let generation):
                guard let (call, entry) = starting, call.callID == id else { continue }
                start(call, entry, generation: generation)
            case .stopTask(let id, let generation):
                guard let call = running[id], call.generation == generation else { continue }
                running[id] = nil
                call.timer?.cancel()
                call.task?.cancel()
                call.writable?.fail(SchedulerError(.cancelled, "the stream was stopped"))
            case .goAwayAndClose(let status):
                goAwayAndClose(status)
            case .goAwayAndCloseNow(let status):
                goAwayAndClose(status, within: .zero)
            case .close(let reason):
                flush()
                logger.debug("closing connection", metadata: ["reason": "\(reason)"])
                context?.close(promise: nil)
            }
        }
    }

    // MARK: Calls

    private func start(_ call: Call, _ entry: MethodEntry, generation: UInt64) {
        let id = call.callID
        let gate = CallState()
        var callLogger = logger
        callLogger[metadataKey: "call.id"] = "\(id)"
        callLogger[metadataKey: "rpc.method"] = "\(call.method)"
        let callContext = CallContext(
            callID: id, method: call.method, token: nil,
            idempotencyKey: entry.mutating && !call.idempotencyKey.isEmpty ? call.idempotencyKey : nil,
            payload: call.payload, logger: callLogger, state: gate, now: runtime.now)

        // Cheap reads that need no token run right here, on the event loop.
        if entry.permission == .anyone, case .inline(let handler) = entry.handler {
            running[id] = Running(generation: generation, gate: gate)
            finish(id, generation, Result { try handler(callContext) }, method: call.method)
            return
        }

        // Streams hold one of the server's places until their task ends.
        let streaming = entry.method.kind == .serverStreaming
        if streaming, !runtime.acquireStream() {
            running[id] = Running(generation: generation, gate: gate)
            let limit = runtime.configuration.maxStreams
            let refusal = SchedulerError(.resourceExhausted, "too many streams open on the server (limit \(limit), max-streams); try again later")
            finish(id, generation, .failure(refusal), method: call.method)
            return
        }
        guard let context else {
            if streaming { runtime.releaseStream() }
            return
        }
        var flight = Running(generation: generation, gate: gate)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        if call.timeoutMs > 0 {
            let timeout = call.timeoutMs
            flight.timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout))) {
                bound.value.expire(id, generation, timeoutMs: timeout)
            }
        }
        let runtime = self.runtime
        let eventLoop = self.eventLoop
        let authorization = call.authorization
        let client = self.client
        let method = call.method
        // A stream checks its token again at most once a second, so revoking it ends the stream.
        let checked = Mutex(ContinuousClock.now)
        let sink = MessageSink { payload in
            let now = ContinuousClock.now
            if checked.withLock({ now - $0 >= .seconds(1) }) {
                _ = try await runtime.authenticate(entry, authorization: authorization, client: client)
                checked.withLock { $0 = now }
            }
            try await eventLoop.flatSubmit { bound.value.streamMessage(id, generation, payload) }.get()
        }
        runtime.handlerStarted()
        flight.task = Task {
            let result: Result<[UInt8], any Error>
            do {
                var callContext = callContext
                callContext.token = try await runtime.authenticate(entry, authorization: authorization, client: client)
                switch entry.handler {
                case .inline(let handler): result = .success(try handler(callContext))
                case .async(let handler): result = .success(try await handler(callContext))
                case .serverStreaming(let handler):
                    try await handler(callContext, sink)
                    result = .success([])
                }
            } catch {
                result = .failure(error)
            }
            if streaming { runtime.releaseStream() }
            eventLoop.execute {
                bound.value.finish(id, generation, result, method: method)
                bound.value.scheduleFlush()
            }
            runtime.handlerEnded()
        }
        running[id] = flight
    }

    /// Answers the call with its handler's result, if it is still the call running under `id`.
    private func finish(_ id: UInt64, _ generation: UInt64, _ result: Result<[UInt8], any Error>, method: String) {
        if let call = running[id], call.generation == generation {
            running[id] = nil
            call.timer?.cancel()
            guard call.gate.finish() else { return }
        }
        let status: Status
        var payload: [UInt8] = []
        switch result {
        case .success(let bytes):
            status = .ok
            payload = bytes
        case .failure(let error):
            status = StatusMapping.status(for: error, callID: id, method: method, logger: logger)
        }
        perform(machine.callFinished(id, generation: generation, status: status, payload: payload, now: .now()))
    }

    /// A stream's producer sends a message: written, and the returned future completes when the
    /// socket can take more (a client that does not read holds the producer back).
    private func streamMessage(_ id: UInt64, _ generation: UInt64, _ payload: [UInt8]) -> EventLoopFuture<Void> {
        guard let context else { return eventLoop.makeFailedFuture(SchedulerError(.cancelled, "the connection closed")) }
        let actions = machine.messageProduced(id, generation: generation, payload: payload)
        guard !actions.isEmpty, running[id]?.generation == generation else {
            return context.eventLoop.makeFailedFuture(SchedulerError(.cancelled, "the stream was stopped"))
        }
        perform(actions)
        flush()
        if context.channel.isWritable { return context.eventLoop.makeSucceededVoidFuture() }
        let promise = context.eventLoop.makePromise(of: Void.self)
        running[id]?.writable = promise
        return promise.futureResult
    }

    private func expire(_ id: UInt64, _ generation: UInt64, timeoutMs: UInt32) {
        guard let call = running[id], call.generation == generation else { return }
        let stopped = call.gate.stop(.expired)
        perform(machine.deadlinePassed(id, generation: generation, timeoutMs: timeoutMs, stopped: stopped))
        scheduleFlush()
    }

    // MARK: Timeouts

    private func checkTimeouts() {
        guard let context else { return }
        let writable = context.channel.isWritable
        let pending = writable ? 0 : ((try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0)
        perform(machine.tick(now: .now(), writable: writable, pendingBytes: pending))
    }

    // MARK: Output

    private func flush() {
        guard let context, output.readableBytes > 0 else { return }
        let buffer = output
        output = context.channel.allocator.buffer(capacity: 256)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// Replies finished by tasks arrive one by one; flush them together once per loop turn.
    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            bound.value.flushScheduled = false
            bound.value.flush()
        }
    }

    /// Sends GoAway and closes once it is out, or after `within` (the close timeout) whether or
    /// not it got out: a client that does not read, or a TLS handshake that never ends, holds
    /// the write back for ever.
    private func goAwayAndClose(_ status: Status, within: Duration? = nil) {
        guard let context else { return }
        logger.debug("closing connection", metadata: ["status": "\(status)"])
        FrameCodec.encode(.goAway(GoAway(status: status, lastCallID: machine.highestCallID)), into: &output)
        let buffer = output
        output = context.channel.allocator.buffer(capacity: 0)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let written = context.writeAndFlush(wrapOutboundOut(buffer))
        let grace = within ?? runtime.configuration.closeTimeout
        if grace <= .zero {
            context.close(promise: nil)
            return
        }
        let deadline = context.eventLoop.scheduleTask(in: TimeAmount(grace)) { bound.value.close(promise: nil) }
        written.whenComplete { _ in
            deadline.cancel()
            bound.value.close(promise: nil)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
