import Foundation
import Logging
import NIOCore
import NIOTLS
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
    /// Whether a TLS handler sits before this one (TCP listeners with TLS configured).
    private let tls: Bool
    private var handshakeDone = false
    private var state = State.awaitingPreface
    private var reader: FrameReader
    private var inFlight: [UInt64: InFlight] = [:]
    private var highestCallID: UInt64 = 0
    private var output: ByteBuffer
    private var flushScheduled = false
    private var connectedAt = NIODeadline.now()
    /// When the last call arrived or ended: pings do not count (gRPC's `max_connection_idle`).
    private var lastActivity = NIODeadline.now()
    private var partialSince: NIODeadline?
    /// Since when replies have waited unsent without moving, and how many bytes were waiting then.
    private var stalled: (since: NIODeadline, pending: Int)?
    /// Tasks of calls already answered (deadline, Cancel) that have not ended yet: they still
    /// count against the in-flight limit, so a loop of short deadlines cannot pile up work.
    private var abandonedTasks = 0
    /// Who the connection is for the token lookups' allowance: its IP address, or "unix".
    private var client = "unix"
    private var ticker: RepeatedTask?
    private var context: ChannelHandlerContext?
    private var logger: Logger

    init(runtime: ServerRuntime, tls: Bool = false) {
        self.runtime = runtime
        self.tls = tls
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
        client = context.remoteAddress?.ipAddress ?? "unix"
        switch runtime.admit(context.channel, address: context.remoteAddress?.ipAddress) {
        case .admitted:
            break
        case .refused(let status):
            goAwayAndClose(status)
            return
        case .dropped:
            state = .closed
            context.close(promise: nil)
            return
        }
        if runtime.isDraining {
            goAwayAndClose(Status(.unavailable, "the server is shutting down"))
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
        if case .handshakeCompleted? = event as? TLSUserEvent {
            handshakeDone = true
        }
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
            // The drain is over: no waiting for the GoAway to get out.
            goAwayAndClose(Status(.unavailable, "the server is shutting down"), within: .zero)
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
            goAwayAndClose(
                Status(
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
        lastActivity = .now()
        let limit = runtime.configuration.maxCallsInFlight
        guard inFlight.count + abandonedTasks < limit else {
            write(
                .reply(
                    Reply(
                        callID: id,
                        status: Status(
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
            write(
                .reply(Reply(callID: id, status: Status(.unauthenticated, "the authorization is longer than any token (\(Self.maxAuthorizationBytes) bytes)"))))
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
        let client = self.client
        flight.task = Task {
            let result: Result<[UInt8], any Error>
            do {
                var callContext = callContext
                callContext.token = try await runtime.authenticate(entry, authorization: authorization, client: client)
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
        guard let current = inFlight[id], current.state === state, let flight = inFlight.removeValue(forKey: id) else {
            // The task of a call answered earlier (deadline, Cancel) has ended: its slot is free now.
            abandonedTasks = max(0, abandonedTasks - 1)
            return
        }
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
        abandon(flight)
        write(.reply(Reply(callID: id, status: Status(.deadlineExceeded, "the call's deadline of \(timeoutMs) ms passed"))))
        scheduleFlush()
        closeIfDrained()
    }

    private func cancelCall(_ id: UInt64) {
        guard let flight = inFlight[id], flight.state.stop(.cancelled) else { return }
        inFlight[id] = nil
        flight.timer?.cancel()
        lastActivity = .now()
        abandon(flight)
        write(.reply(Reply(callID: id, status: Status(.cancelled, "the call was cancelled by the client"))))
        closeIfDrained()
    }

    /// Cancels the task of a call answered without it; the task keeps its slot until it ends.
    private func abandon(_ flight: InFlight) {
        guard let task = flight.task else { return }
        task.cancel()
        abandonedTasks += 1
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
        if checkWriteStall(now) { return }
        switch state {
        case .awaitingPreface:
            if tls, !handshakeDone, now - connectedAt >= TimeAmount(config.tlsHandshakeTimeout) {
                // No GoAway: nothing can be sent before the handshake.
                close(because: "no TLS handshake within \(config.tlsHandshakeTimeout) (tls-handshake-timeout)")
            } else if now - connectedAt >= TimeAmount(config.prefaceTimeout) {
                goAwayAndClose(
                    Status(
                        .invalidArgument,
                        "no preface within \(config.prefaceTimeout) (preface-timeout); expected \(Preface.text)"))
            }
        case .open, .draining:
            if let since = partialSince, now - since >= TimeAmount(config.partialFrameTimeout) {
                goAwayAndClose(
                    Status(
                        .invalidArgument, "a frame stayed incomplete for \(config.partialFrameTimeout) (partial-frame-timeout)"))
            } else if partialSince == nil, inFlight.isEmpty, now - lastActivity >= TimeAmount(config.idleTimeout) {
                goAwayAndClose(Status(.unavailable, "closing a connection idle for \(config.idleTimeout) (idle-timeout)"))
            }
        case .closed:
            break
        }
    }

    /// Closes the connection when replies have waited unsent, without any byte of them moving,
    /// for the write timeout (the client stopped reading). True if it closed.
    private func checkWriteStall(_ now: NIODeadline) -> Bool {
        guard let context, !context.channel.isWritable else {
            stalled = nil
            return false
        }
        let pending = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        guard let stalled, pending >= stalled.pending else {
            self.stalled = (now, pending)
            return false
        }
        let limit = runtime.configuration.writeTimeout
        guard now - stalled.since >= TimeAmount(limit) else { return false }
        close(because: "replies waited unsent for \(limit) (write-timeout): the client stopped reading")
        return true
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

    /// Sends GoAway and closes once it is out, or after `within` (the close timeout) whether or
    /// not it got out: a client that does not read, or a TLS handshake that never ends, holds
    /// the write back for ever.
    private func goAwayAndClose(_ status: Status, within: Duration? = nil) {
        guard state != .closed, let context else { return }
        state = .closed
        logger.debug("closing connection", metadata: ["status": "\(status)"])
        write(.goAway(GoAway(status: status, lastCallID: highestCallID)))
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

    /// Closes at once, without a GoAway (none could get out).
    private func close(because reason: String) {
        guard state != .closed, let context else { return }
        state = .closed
        logger.debug("closing connection", metadata: ["reason": "\(reason)"])
        context.close(promise: nil)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
