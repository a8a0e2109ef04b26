import NIOCore
import Testing

@testable import SchedulerServer
@testable import SchedulerWire

/// The connection's protocol decisions as values: events in, actions out, no socket.
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func machine(maxCalls: Int = 2, tls: Bool = false) -> Machine {
        var machine = Machine(
            limits: .init(
                maxCallsInFlight: maxCalls, maxIdempotencyKeyBytes: 8, maxAuthorizationBytes: 16, prefaceTimeout: .seconds(5),
                partialFrameTimeout: .seconds(5), idleTimeout: .seconds(60), tlsHandshakeTimeout: .seconds(10), writeTimeout: .seconds(30)),
            tls: tls, now: start)
        machine.prefaceReceived()
        return machine
    }

    func call(_ id: UInt64, key: String = "") -> Call { Call(callID: id, method: "/m", idempotencyKey: key) }

    @Test func callsStartWithinTheLimitAndAreRefusedBeyondIt() {
        var m = machine(maxCalls: 2)
        #expect(m.callReceived(call(1), kind: .unary, now: start) == [.start(callID: 1, generation: 1)])
        #expect(m.callReceived(call(2), kind: .serverStreaming, now: start) == [.start(callID: 2, generation: 2)])
        guard case .send(.reply(let refused))? = m.callReceived(call(3), kind: .unary, now: start).first else {
            Issue.record("the third call was not refused")
            return
        }
        #expect(refused.status.code == .resourceExhausted)
        // Unknown method, over-long key: answered, the connection kept.
        _ = m.callFinished(1, generation: 1, status: .ok, payload: [], now: start)
        guard case .send(.reply(let unknown))? = m.callReceived(call(4), kind: nil, now: start).first else { return }
        #expect(unknown.status.code == .unimplemented)
        guard case .send(.reply(let long))? = m.callReceived(call(5, key: "123456789"), kind: .unary, now: start).first else { return }
        #expect(long.status.code == .invalidArgument)
        // A call id already in flight: the stream cannot be trusted.
        guard case .goAwayAndClose(let status)? = m.callReceived(call(2), kind: .unary, now: start).first else {
            Issue.record("a duplicate call id was not refused")
            return
        }
        #expect(status.code == .invalidArgument)
        #expect(m.state == .closed)
    }

    @Test func aStreamSendsMessagesThenOneFinalStatus() {
        var m = machine()
        _ = m.callReceived(call(7), kind: .serverStreaming, now: start)
        let first = m.messageProduced(7, generation: 1, payload: [1])
        #expect(first == [.send(.reply(Reply(callID: 7, status: .ok, payload: [1], endOfStream: false)))])
        _ = m.messageProduced(7, generation: 1, payload: [2])
        #expect(m.calls[7]?.sent == 2)
        let end = m.callFinished(7, generation: 1, status: .ok, payload: [9], now: start)
        // The final reply carries the status only: a stream's messages went before it.
        #expect(end == [.send(.reply(Reply(callID: 7, status: .ok, payload: [], endOfStream: true)))])
        #expect(m.messageProduced(7, generation: 1, payload: [3]).isEmpty)
    }

    @Test func cancelAndDeadlineStopAStreamAndALateResultAnswersNothing() {
        var m = machine(maxCalls: 1)
        _ = m.callReceived(call(1), kind: .serverStreaming, now: start)
        let cancelled = m.cancelReceived(1, stopped: true, now: start)
        #expect(cancelled.first == .stopTask(callID: 1, generation: 1))
        guard case .send(.reply(let reply))? = cancelled.last else { return }
        #expect(reply.status.code == .cancelled)
        #expect(m.messageProduced(1, generation: 1, payload: [1]).isEmpty)
        // The cancelled task still holds the only slot until it ends.
        guard case .send(.reply(let busy))? = m.callReceived(call(2), kind: .unary, now: start).first else { return }
        #expect(busy.status.code == .resourceExhausted)
        #expect(m.callFinished(1, generation: 1, status: .ok, payload: [], now: start).isEmpty)
        #expect(m.callReceived(call(1), kind: .serverStreaming, now: start) == [.start(callID: 1, generation: 2)])
        // A deadline the gate refused (the call is committing) changes nothing.
        #expect(m.deadlinePassed(1, generation: 2, timeoutMs: 10, stopped: false).isEmpty)
        let expired = m.deadlinePassed(1, generation: 2, timeoutMs: 10, stopped: true)
        guard case .send(.reply(let late))? = expired.last else { return }
        #expect(late.status.code == .deadlineExceeded)
        #expect(m.calls.isEmpty)
    }

    @Test func aDrainEndsStreamsAndLetsUnaryCallsFinish() {
        var m = machine(maxCalls: 4)
        _ = m.callReceived(call(1), kind: .unary, now: start)
        _ = m.callReceived(call(2), kind: .serverStreaming, now: start)
        let drain = m.drainBegan(stoppedStreams: [2])
        #expect(drain.first == .send(.goAway(GoAway(status: Status(.unavailable, "the server is shutting down"), lastCallID: 2))))
        #expect(drain.contains(.stopTask(callID: 2, generation: 2)))
        #expect(m.state == .draining)
        guard case .send(.reply(let refused))? = m.callReceived(call(3), kind: .unary, now: start).first else { return }
        #expect(refused.status.code == .unavailable)
        let finished = m.callFinished(1, generation: 1, status: .ok, payload: [5], now: start)
        #expect(finished == [.send(.reply(Reply(callID: 1, status: .ok, payload: [5]))), .close(reason: "drained")])
    }

    @Test func timersCloseIdleStalledAndSilentConnections() {
        var idle = machine()
        #expect(idle.tick(now: start + .seconds(59), writable: true, pendingBytes: 0).isEmpty)
        guard case .goAwayAndClose(let status)? = idle.tick(now: start + .seconds(61), writable: true, pendingBytes: 0).first else {
            Issue.record("an idle connection stayed open")
            return
        }
        #expect(status.code == .unavailable)

        var stalled = machine()
        _ = stalled.callReceived(call(1), kind: .serverStreaming, now: start)
        #expect(stalled.tick(now: start, writable: false, pendingBytes: 100).isEmpty)
        // Bytes moving (the pending count went down) restart the clock.
        #expect(stalled.tick(now: start + .seconds(20), writable: false, pendingBytes: 50).isEmpty)
        #expect(stalled.tick(now: start + .seconds(40), writable: false, pendingBytes: 50).isEmpty)
        guard case .close? = stalled.tick(now: start + .seconds(51), writable: false, pendingBytes: 60).first else {
            Issue.record("a stalled connection stayed open")
            return
        }

        var silent = Machine(limits: machine().limits, tls: true, now: start)
        guard case .close? = silent.tick(now: start + .seconds(11), writable: true, pendingBytes: 0).first else {
            Issue.record("a TLS handshake that never came did not close the connection")
            return
        }
    }
}
