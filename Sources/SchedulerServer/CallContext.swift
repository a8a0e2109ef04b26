import Foundation
import Logging
import SchedulerCore
import SchedulerStore
import Synchronization

/// The life of one call as the deadline timer, a Cancel frame and a committing transaction see
/// it. Whoever moves it out of `running` first decides the outcome: a call that reached its
/// commit point always commits and answers; a call that timed out or was cancelled commits nothing.
final class CallState: Sendable {
    enum Phase: Sendable { case running, committing, expired, cancelled, finished }

    private let phase = Mutex(Phase.running)

    /// The transaction is about to commit. Throws if the call already timed out or was cancelled.
    func enterCommit() throws(SchedulerError) {
        let outcome: Phase = phase.withLock { phase in
            if phase == .running { phase = .committing }
            return phase
        }
        switch outcome {
        case .committing: return
        case .cancelled: throw SchedulerError(.cancelled, "the call was cancelled before it committed")
        default: throw SchedulerError(.deadlineExceeded, "the call ran past its deadline and committed nothing")
        }
    }

    /// The deadline passed or a Cancel arrived: true if that now decides the call's outcome.
    func stop(_ reason: Phase) -> Bool {
        phase.withLock { phase in
            guard phase == .running else { return false }
            phase = reason
            return true
        }
    }

    /// Whether nothing has stopped the call yet.
    var isRunning: Bool { phase.withLock { $0 == .running } }

    /// The handler is done: true if its result should be sent.
    func finish() -> Bool {
        phase.withLock { phase in
            guard phase == .running || phase == .committing else { return false }
            phase = .finished
            return true
        }
    }
}

/// What a method handler knows about its call.
public struct CallContext: Sendable {
    public var callID: UInt64
    public var method: String
    /// The caller's token, when the call carried a valid one.
    public var token: AccessToken?
    /// The caller, when the call carried a valid token.
    public var principal: Principal? { token?.principal }
    public var idempotencyKey: String?
    public var payload: [UInt8]
    public var logger: Logger
    let state: CallState
    let now: @Sendable () -> Date

    /// The context for a store change made by this call: who, which call, which key, and the
    /// commit gate that keeps a late or cancelled call from committing.
    public func mutation() -> MutationContext {
        let state = self.state
        return MutationContext(
            actor: principal?.tokenID, method: method, idempotencyKey: idempotencyKey,
            requestDigest: TokenSecret.digest(method: method, payload: payload), now: now(),
            beforeCommit: { try state.enterCommit() }, isWanted: { state.isRunning })
    }

    /// The caller, or `unauthenticated` (for handlers of methods that need a token).
    public func requirePrincipal() throws(SchedulerError) -> Principal {
        guard let principal else { throw SchedulerError(.unauthenticated, "this method needs a token") }
        return principal
    }
}
