import NIOCore
import SchedulerCore
import SchedulerWire

/// One connection's protocol state as a value: `ConnectionHandler` feeds it what happens
/// (the preface, calls, Cancels, handler results, streamed messages, timer ticks, drain, close)
/// and carries out the actions it returns; tests drive it without a socket.
///
/// Calls are values too (`Call`): each has a generation, so a late result of a call that was
/// answered already (deadline, Cancel) can never answer a new call that reuses its id. Whether
/// a running call may still be stopped is decided by its commit gate (`CallState`), which the
/// call's task shares across threads; the handler asks the gate and passes the answer in.
struct ConnectionStateMachine {
    enum State: Equatable {
        case awaitingPreface
        case open
        /// GoAway sent: calls in flight finish, new ones are refused.
        case draining
        case closed
    }

    /// A call in flight.
    struct Call: Equatable {
        var generation: UInt64
        var method: String
        var kind: RPCKind
        /// Messages sent so far (server-streaming calls).
        var sent = 0
    }

    /// What the handler does.
    enum Action: Equatable {
        /// Write a frame (the handler flushes at the end of the turn).
        case send(ServerFrame)
        /// Run the call's handler (a task, or inline for cheap reads).
        case start(callID: UInt64, generation: UInt64)
        /// Cancel the call's task: it was answered without it, and keeps a slot until it ends.
        case stopTask(callID: UInt64, generation: UInt64)
        /// Send GoAway with this status and close once it is out (or after the close timeout).
        case goAwayAndClose(Status)
        /// Send GoAway and close at once (the drain is over).
        case goAwayAndCloseNow(Status)
        /// Close without a GoAway (none could get out).
        case close(reason: String)
    }

    struct Limits {
        var maxCallsInFlight: Int
        var maxIdempotencyKeyBytes: Int
        var maxAuthorizationBytes: Int
        var prefaceTimeout: Duration
        var partialFrameTimeout: Duration
        var idleTimeout: Duration
        var tlsHandshakeTimeout: Duration
        var writeTimeout: Duration
    }

    let limits: Limits
    /// Whether a TLS handshake comes first (TCP listeners with TLS configured).
    let tls: Bool
    private(set) var state = State.awaitingPreface
    private(set) var calls: [UInt64: Call] = [:]
    private(set) var highestCallID: UInt64 = 0
    /// Tasks of calls answered without them that have not ended: they count against the
    /// in-flight limit, so a loop of short deadlines cannot pile up work.
    private(set) var abandonedTasks = 0
    private var generations: UInt64 = 0
    private var handshakeDone = false
    private let connectedAt: NIODeadline
    /// When a call last started, ended or was cancelled: pings do not count (gRPC's `max_connection_idle`).
    private var lastActivity: NIODeadline
    private var partialSince: NIODeadline?
    /// Since when output has waited without moving, and how much was waiting then.
    private var stalled: (since: NIODeadline, pending: Int)?

    init(limits: Limits, tls: Bool, now: NIODeadline) {
        self.limits = limits
        self.tls = tls
        self.connectedAt = now
        self.lastActivity = now
    }

    var isOpen: Bool { state == .open || state == .draining }

    // MARK: Connection events

    mutating func handshakeCompleted() { handshakeDone = true }

    mutating func prefaceReceived() {
        if state == .awaitingPreface { state = .open }
    }

    mutating func prefaceRejected() -> [Action] {
        goAway(Status(.invalidArgument, "expected the preface \(Preface.text): this port speaks the sosched RPC protocol (see Docs/protocol.md)"))
    }

    /// A frame that cannot be read (too large, not a frame): the stream cannot be trusted after it.
    mutating func unreadableFrame(_ status: Status) -> [Action] { goAway(status) }

    /// After the bytes of one read are split into frames: a frame left incomplete starts the
    /// partial-frame clock, unless one was already pending and no frame completed since.
    mutating func readDone(completedFrames: Int, hasPartialFrame: Bool, now: NIODeadline) {
        if completedFrames > 0 { partialSince = nil }
        partialSince = hasPartialFrame ? (partialSince ?? now) : nil
    }

    /// The server refuses the connection (limits) or is shutting down as it arrives.
    mutating func refuse(_ status: Status) -> [Action] { goAway(status) }

    mutating func ping(_ opaque: UInt64) -> [Action] { isOpen ? [.send(.pong(opaque: opaque))] : [] }

    /// A call frame whose fields are not acceptable: answered, the connection kept.
    mutating func invalidCall(_ id: UInt64, _ status: Status) -> [Action] {
        highestCallID = max(highestCallID, id)
        return [.send(.reply(Reply(callID: id, status: status)))]
    }

    // MARK: Calls

    /// A call arrives; `kind` is nil for a method the server does not know.
    mutating func callReceived(_ call: SchedulerWire.Call, kind: RPCKind?, now: NIODeadline) -> [Action] {
        let id = call.callID
        guard state == .open else {
            return [.send(.reply(Reply(callID: id, status: Status(.unavailable, "the server is shutting down; the call was not started"))))]
        }
        guard calls[id] == nil else {
            return goAway(Status(.invalidArgument, "call_id \(id) is already in flight on this connection"))
        }
        highestCallID = max(highestCallID, id)
        lastActivity = now
        let limit = limits.maxCallsInFlight
        guard calls.count + abandonedTasks < limit else {
            return refuse(id, Status(.resourceExhausted, "too many calls in flight on this connection (limit \(limit), max-calls-in-flight)"))
        }
        guard let kind else {
            return refuse(id, Status(.unimplemented, "unknown method \(call.method)"))
        }
        // Bounded before anything is looked up or stored: no token is longer, no key needs more.
        guard call.idempotencyKey.utf8.count <= limits.maxIdempotencyKeyBytes else {
            let refusal = SchedulerError(
                .invalidArgument, "idempotency_key is longer than \(limits.maxIdempotencyKeyBytes) bytes", field: "idempotency_key")
            return refuse(id, StatusMapping.status(for: refusal))
        }
        guard call.authorization.utf8.count <= limits.maxAuthorizationBytes else {
            return refuse(id, Status(.unauthenticated, "the authorization is longer than any token (\(limits.maxAuthorizationBytes) bytes)"))
        }
        generations += 1
        calls[id] = Call(generation: generations, method: call.method, kind: kind)
        return [.start(callID: id, generation: generations)]
    }

    private func refuse(_ id: UInt64, _ status: Status) -> [Action] { [.send(.reply(Reply(callID: id, status: status)))] }

    /// A server-streaming call's handler produced a message. Empty if the call is no longer
    /// the one running under `id` (stopped): the writer then stops the handler.
    mutating func messageProduced(_ id: UInt64, generation: UInt64, payload: [UInt8]) -> [Action] {
        guard var call = calls[id], call.generation == generation, call.kind == .serverStreaming, isOpen else { return [] }
        call.sent += 1
        calls[id] = call
        return [.send(.reply(Reply(callID: id, status: .ok, payload: payload, endOfStream: false)))]
    }

    /// Whether `generation` is the call running under `id`.
    func isRunning(_ id: UInt64, generation: UInt64) -> Bool { calls[id]?.generation == generation }

    /// A call's handler ended with `status` (and, for a unary call, its response).
    mutating func callFinished(_ id: UInt64, generation: UInt64, status: Status, payload: [UInt8], now: NIODeadline) -> [Action] {
        guard let call = calls[id], call.generation == generation else {
            // The task of a call answered earlier (deadline, Cancel) has ended: its slot is free now.
            abandonedTasks = max(0, abandonedTasks - 1)
            return []
        }
        calls[id] = nil
        lastActivity = now
        let reply = Reply(callID: id, status: status, payload: status.code == .ok && call.kind == .unary ? payload : [], endOfStream: true)
        return [.send(.reply(reply))] + closeIfDrained()
    }

    /// The call's deadline passed and its gate stopped it (`stopped`: it had not reached its commit point).
    mutating func deadlinePassed(_ id: UInt64, generation: UInt64, timeoutMs: UInt32, stopped: Bool) -> [Action] {
        guard stopped, let call = calls[id], call.generation == generation else { return [] }
        calls[id] = nil
        abandonedTasks += 1
        let sent = call.kind == .serverStreaming ? " after \(call.sent) messages" : ""
        return [
            .stopTask(callID: id, generation: generation),
            .send(.reply(Reply(callID: id, status: Status(.deadlineExceeded, "the call's deadline of \(timeoutMs) ms passed\(sent)")))),
        ] + closeIfDrained()
    }

    /// A Cancel frame; `stopped` says whether the call's gate stopped it.
    mutating func cancelReceived(_ id: UInt64, stopped: Bool, now: NIODeadline) -> [Action] {
        guard stopped, let call = calls[id] else { return [] }
        calls[id] = nil
        abandonedTasks += 1
        lastActivity = now
        return [
            .stopTask(callID: id, generation: call.generation),
            .send(.reply(Reply(callID: id, status: Status(.cancelled, "the call was cancelled by the client")))),
        ] + closeIfDrained()
    }

    // MARK: Drain and close

    /// The server starts shutting down. Unary calls in flight may finish; streams end now
    /// (`stoppedStreams`: the streaming calls whose gates stopped them).
    mutating func drainBegan(stoppedStreams: Set<UInt64>) -> [Action] {
        guard state == .open || state == .awaitingPreface else { return [] }
        let status = Status(.unavailable, "the server is shutting down")
        if state == .awaitingPreface || calls.isEmpty { return goAway(status) }
        state = .draining
        var actions: [Action] = [.send(.goAway(GoAway(status: status, lastCallID: highestCallID)))]
        for id in stoppedStreams.sorted() {
            guard let call = calls.removeValue(forKey: id) else { continue }
            abandonedTasks += 1
            actions.append(.stopTask(callID: id, generation: call.generation))
            actions.append(
                .send(.reply(Reply(callID: id, status: Status(.unavailable, "the server is shutting down; the stream ended after \(call.sent) messages")))))
        }
        return actions + closeIfDrained()
    }

    /// The drain timeout passed: what is left is answered UNAVAILABLE (`stopped`: the calls
    /// whose gates stopped them; the others are committing and their answers are lost with the connection).
    mutating func drainForced(stopped: Set<UInt64>) -> [Action] {
        var actions: [Action] = []
        for (id, call) in calls.sorted(by: { $0.key < $1.key }) where stopped.contains(id) {
            actions.append(.stopTask(callID: id, generation: call.generation))
            actions.append(.send(.reply(Reply(callID: id, status: Status(.unavailable, "the server shut down before the call finished")))))
        }
        calls.removeAll()
        guard state != .closed else { return actions }
        state = .closed
        return actions + [.goAwayAndCloseNow(Status(.unavailable, "the server is shutting down"))]
    }

    /// The socket closed: every call's task is cancelled.
    mutating func connectionClosed() -> [Action] {
        state = .closed
        let actions = calls.sorted(by: { $0.key < $1.key }).map { Action.stopTask(callID: $0.key, generation: $0.value.generation) }
        calls.removeAll()
        return actions
    }

    /// The handler is about to close the connection itself.
    mutating func closing() { state = .closed }

    private mutating func closeIfDrained() -> [Action] {
        guard state == .draining, calls.isEmpty else { return [] }
        state = .closed
        return [.close(reason: "drained")]
    }

    private mutating func goAway(_ status: Status) -> [Action] {
        guard state != .closed else { return [] }
        state = .closed
        return [.goAwayAndClose(status)]
    }

    // MARK: Timers

    /// The periodic check: handshake, preface, partial frame, idle and write timeouts.
    /// `writable` and `pendingBytes` describe the channel's output now.
    mutating func tick(now: NIODeadline, writable: Bool, pendingBytes: Int) -> [Action] {
        guard state != .closed else { return [] }
        if !writable {
            if let stalled, pendingBytes >= stalled.pending {
                if now - stalled.since >= TimeAmount(limits.writeTimeout) {
                    state = .closed
                    return [.close(reason: "replies waited unsent for \(limits.writeTimeout) (write-timeout): the client stopped reading")]
                }
            } else {
                stalled = (now, pendingBytes)
            }
        } else {
            stalled = nil
        }
        switch state {
        case .awaitingPreface:
            if tls, !handshakeDone, now - connectedAt >= TimeAmount(limits.tlsHandshakeTimeout) {
                state = .closed
                return [.close(reason: "no TLS handshake within \(limits.tlsHandshakeTimeout) (tls-handshake-timeout)")]
            }
            if now - connectedAt >= TimeAmount(limits.prefaceTimeout) {
                return goAway(Status(.invalidArgument, "no preface within \(limits.prefaceTimeout) (preface-timeout); expected \(Preface.text)"))
            }
        case .open, .draining:
            if let since = partialSince, now - since >= TimeAmount(limits.partialFrameTimeout) {
                return goAway(Status(.invalidArgument, "a frame stayed incomplete for \(limits.partialFrameTimeout) (partial-frame-timeout)"))
            }
            if partialSince == nil, calls.isEmpty, now - lastActivity >= TimeAmount(limits.idleTimeout) {
                return goAway(Status(.unavailable, "closing a connection idle for \(limits.idleTimeout) (idle-timeout)"))
            }
        case .closed:
            break
        }
        return []
    }
}
