import Foundation
import Logging
import NIOCore
import SchedulerCore
import SchedulerWire

/// One client connection: checks the preface, splits frames, runs calls (cheap reads inline on
/// the event loop, the rest in tasks), enforces the limits and timeouts of `protocol.md`, and
/// drains on shutdown. All its state lives on the channel's event loop.
final class ConnectionHandler: ChannelInboundHandler {
    /// Longest idempotency key a call may carry (the CLI's are 32 characters).
    static let maxIdempotencyKeyBytes = 128
    /// Longest authorization a call may carry (tokens are about 50 characters).
    static let maxAuthorizationBytes = 256
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case awaitingPreface, open, draining, closed }

    private struct InFlight {
        var method: String
        var state: CallState
        var task: Task<Void, Never>?
        var timer: Scheduled<Void>?
    }

    private let runtime: ServerRuntime
    private var state = State.awaitingPreface
    private var reader: FrameReader
    private var inFlight: [UInt64: InFlight] = [:]
    private var highestCallID: UInt64 = 0
    private var output: ByteBuffer
    private var flushScheduled = false
    private var connectedAt = NIODeadline.now()
    private var lastActivity = NIODeadline.now()
    private var partialSince: NIODeadline?
    private var ticker: RepeatedTask?
    private var context: ChannelHandlerContext?
    private var logger: Logger

    init(runtime: ServerRuntime) {
        self.runtime = runtime
        self.reader = FrameReader(maxFrameBytes: runtime.configuration.maxFrameBytes)
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
        guard runtime.admit(context.channel) else {
            goAwayAndClose(
                Status(.resourceExhausted, "the server has reached its connection limit of \(runtime.configuration.maxConnections) (max-connections); try again later"))
            return
        }
        if runtime.isDraining {
            goAwayAndClose(Status(.unavailable, "the server is shutting down"))
            return
        }
        let config = runtime.configuration
        let shortest = min(config.prefaceTimeout, config.partialFrameTimeout, config.idleTimeout)
        let tick = max(TimeAmount.milliseconds(10), TimeAmount(shortest / 4))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.checkTimeouts()
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        ticker?.cancel()
        ticker = nil
        runtime.remove(context.channel)
        for (_, call) in inFlight {
            _ = call.state.stop(.cancelled)
            call.timer?.cancel()
            call.task?.cancel()
        }
        inFlight.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state != .closed else { return }
        var bytes = unwrapInboundIn(data)
        lastActivity = .now()
        reader.append(&bytes)
        if state == .awaitingPreface {
            guard checkPreface() else { return }
        }
        do {
            while state == .open || state == .draining, let body = try reader.next() {
                partialSince = nil
                handleFrame(body)
            }
        } catch {
            let code: StatusCode = error.code == .frameTooLarge ? .resourceExhausted : .invalidArgument
            goAwayAndClose(Status(code, error.message))
            return
        }
        partialSince = reader.hasPartialFrame ? (partialSince ?? .now()) : nil
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    /// A client that does not read its replies stops being read from, so unsent replies cannot
    /// pile up without bound; reading resumes when the socket drains.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? DrainEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch event {
        case .begin:
            guard state == .open || state == .awaitingPreface else { return }
            if state == .awaitingPreface || inFlight.isEmpty {
                goAwayAndClose(Status(.unavailable, "the server is shutting down"))
                return
            }
            state = .draining
            write(.goAway(GoAway(status: Status(.unavailable, "the server is shutting down"), lastCallID: highestCallID)))
            flush()
        case .force:
            for (id, call) in inFlight where call.state.stop(.cancelled) {
                call.timer?.cancel()
                call.task?.cancel()
                write(.reply(Reply(callID: id, status: Status(.unavailable, "the server shut down before the call finished"))))
            }
            inFlight.removeAll()
            goAwayAndClose(Status(.unavailable, "the server is shutting down"))
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
            goAwayAndClose(Status(
                .invalidArgument,
                "expected the preface \(Preface.text): this port speaks the sosched RPC protocol (see Docs/protocol.md)"))
            return false
        }
        guard seen.count == Preface.count else { return false }
        _ = reader.readBytes(Preface.count)
        state = .open
        return true
    }

    private func handleFrame(_ body: ByteBuffer) {
        let decoded: DecodedClientFrame
        do {
            decoded = try FrameCodec.decodeClientFrame(body, budget: runtime.configuration.decodeBudgetBytes)
        } catch {
            let code: StatusCode = error.code == .budgetExceeded ? .resourceExhausted : .invalidArgument
            goAwayAndClose(Status(code, error.message))
            return
        }
        switch decoded {
        case .invalidCall(let id, let error):
            highestCallID = max(highestCallID, id)
            write(.reply(Reply(callID: id, status: StatusMapping.status(for: error))))
        case .frame(.ping(let opaque)):
            write(.pong(opaque: opaque))
        case .frame(.cancel(let id)):
            cancelCall(id)
        case .frame(.call(let call)):
            startCall(call)
        }
    }

    // MARK: Calls

    private func startCall(_ call: Call) {
        let id = call.callID
        guard state == .open else {
            write(.reply(Reply(callID: id, status: Status(.unavailable, "the server is shutting down; the call was not started"))))
            return
        }
        guard inFlight[id] == nil else {
            goAwayAndClose(Status(.invalidArgument, "call_id \(id) is already in flight on this connection"))
            return
        }
        highestCallID = max(highestCallID, id)
        let limit = runtime.configuration.maxCallsInFlight
        guard inFlight.count < limit else {
            write(.reply(Reply(callID: id, status: Status(
                .resourceExhausted, "too many calls in flight on this connection (limit \(limit), max-calls-in-flight)"))))
            return
        }
        guard let entry = runtime.methods.entries[call.method] else {
            write(.reply(Reply(callID: id, status: Status(.unimplemented, "unknown method \(call.method)"))))
            return
        }
        // Bounded before anything is looked up or stored: no token is longer, no key needs more.
        guard call.idempotencyKey.utf8.count <= Self.maxIdempotencyKeyBytes else {
            let refusal = SchedulerError(.invalidArgument, "idempotency_key is longer than \(Self.maxIdempotencyKeyBytes) bytes", field: "idempotency_key")
            write(.reply(Reply(callID: id, status: StatusMapping.status(for: refusal))))
            return
        }
        guard call.authorization.utf8.count <= Self.maxAuthorizationBytes else {
            write(.reply(Reply(callID: id, status: Status(.unauthenticated, "the authorization is longer than any token (\(Self.maxAuthorizationBytes) bytes)"))))
            return
        }
        let callState = CallState()
        var callLogger = logger
        callLogger[metadataKey: "call.id"] = "\(id)"
        callLogger[metadataKey: "rpc.method"] = "\(call.method)"
        let callContext = CallContext(
            callID: id, method: call.method, token: nil,
            idempotencyKey: entry.mutating && !call.idempotencyKey.isEmpty ? call.idempotencyKey : nil,
            payload: call.payload, logger: callLogger, state: callState, now: runtime.now)

        // Cheap reads that need no token run right here, on the event loop.
        if entry.permission == .anyone, case .inline(let handler) = entry.handler {
            let result = Result { try handler(callContext) }
            write(.reply(reply(id, result, method: call.method)))
            return
        }

        guard let context else { return }
        var flight = InFlight(method: call.method, state: callState)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        if call.timeoutMs > 0 {
            let timeout = call.timeoutMs
            flight.timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout))) {
                bound.value.expireCall(id, timeoutMs: timeout)
            }
        }
        let runtime = self.runtime
        let eventLoop = context.eventLoop
        let authorization = call.authorization
        flight.task = Task {
            let result: Result<[UInt8], any Error>
            do {
                var callContext = callContext
                callContext.token = try await runtime.authenticate(entry, authorization: authorization)
                switch entry.handler {
                case .inline(let handler): result = .success(try handler(callContext))
                case .async(let handler): result = .success(try await handler(callContext))
                }
            } catch {
                result = .failure(error)
            }
            eventLoop.execute { bound.value.finishCall(id, callState, result) }
        }
        inFlight[id] = flight
    }

    private func reply(_ id: UInt64, _ result: Result<[UInt8], any Error>, method: String) -> Reply {
        switch result {
        case .success(let payload):
            return Reply(callID: id, status: .ok, payload: payload)
        case .failure(let error):
            return Reply(callID: id, status: StatusMapping.status(for: error, callID: id, method: method, logger: logger))
        }
    }

    /// Answers call `id` with its task's result, if the call in flight under that id is still the
    /// one the task belongs to: a late task of a call that timed out or was cancelled must not
    /// answer a new call that reuses its id.
    private func finishCall(_ id: UInt64, _ state: CallState, _ result: Result<[UInt8], any Error>) {
        guard let current = inFlight[id], current.state === state, let flight = inFlight.removeValue(forKey: id) else { return }
        flight.timer?.cancel()
        lastActivity = .now()
        if flight.state.finish() {
            write(.reply(reply(id, result, method: flight.method)))
            scheduleFlush()
        }
        closeIfDrained()
    }

    private func expireCall(_ id: UInt64, timeoutMs: UInt32) {
        guard let flight = inFlight[id], flight.state.stop(.expired) else { return }
        inFlight[id] = nil
        flight.task?.cancel()
        write(.reply(Reply(callID: id, status: Status(.deadlineExceeded, "the call's deadline of \(timeoutMs) ms passed"))))
        scheduleFlush()
        closeIfDrained()
    }

    private func cancelCall(_ id: UInt64) {
        guard let flight = inFlight[id], flight.state.stop(.cancelled) else { return }
        inFlight[id] = nil
        flight.timer?.cancel()
        flight.task?.cancel()
        write(.reply(Reply(callID: id, status: Status(.cancelled, "the call was cancelled by the client"))))
        closeIfDrained()
    }

    private func closeIfDrained() {
        if state == .draining, inFlight.isEmpty {
            flush()
            state = .closed
            context?.close(promise: nil)
        }
    }

    // MARK: Timeouts

    private func checkTimeouts() {
        let now = NIODeadline.now()
        let config = runtime.configuration
        switch state {
        case .awaitingPreface:
            if now - connectedAt >= TimeAmount(config.prefaceTimeout) {
                goAwayAndClose(Status(
                    .invalidArgument,
                    "no preface within \(config.prefaceTimeout) (preface-timeout); expected \(Preface.text)"))
            }
        case .open, .draining:
            if let since = partialSince, now - since >= TimeAmount(config.partialFrameTimeout) {
                goAwayAndClose(Status(
                    .invalidArgument, "a frame stayed incomplete for \(config.partialFrameTimeout) (partial-frame-timeout)"))
            } else if partialSince == nil, inFlight.isEmpty, now - lastActivity >= TimeAmount(config.idleTimeout) {
                goAwayAndClose(Status(.unavailable, "closing a connection idle for \(config.idleTimeout) (idle-timeout)"))
            }
        case .closed:
            break
        }
    }

    // MARK: Output

    private func write(_ frame: ServerFrame) {
        FrameCodec.encode(frame, into: &output)
    }

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

    private func goAwayAndClose(_ status: Status) {
        guard state != .closed, let context else { return }
        state = .closed
        logger.debug("closing connection", metadata: ["status": "\(status)"])
        write(.goAway(GoAway(status: status, lastCallID: highestCallID)))
        let buffer = output
        output = context.channel.allocator.buffer(capacity: 0)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
