import Foundation
import Logging
import NIOCore
import SchedulerCore
import SchedulerStore
import SchedulerWire
import Synchronization

/// What every connection shares: configuration, dispatch table, store, and the counts that
/// limits need. Immutable but for the counters behind locks.
final class ServerRuntime: Sendable {
    let configuration: ServerConfiguration
    let methods: MethodTable
    let store: any Store
    let logger: Logger
    let now: @Sendable () -> Date
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])
    let tokens: TokenCache
    private let draining = Atomic<Bool>(false)

    init(
        configuration: ServerConfiguration, methods: MethodTable, store: any Store, tokens: TokenCache, logger: Logger,
        now: @escaping @Sendable () -> Date
    ) {
        self.configuration = configuration
        self.tokens = tokens
        self.methods = methods
        self.store = store
        self.logger = logger
        self.now = now
    }

    /// Registers a new connection; false when the connection limit is reached.
    func admit(_ channel: any Channel) -> Bool {
        channels.withLock { channels in
            guard channels.count < configuration.maxConnections else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var openChannels: [any Channel] { channels.withLock { Array($0.values) } }

    var isDraining: Bool { draining.load(ordering: .acquiring) }

    func beginDraining() { draining.store(true, ordering: .releasing) }

    /// Checks the caller's token against the method's permission.
    func authenticate(_ entry: MethodEntry, authorization: String) async throws -> AccessToken? {
        if entry.permission == .anyone { return nil }
        guard !authorization.isEmpty else {
            throw SchedulerError(.unauthenticated, "\(entry.descriptor.name) needs a token in Call.authorization")
        }
        let hash = TokenSecret.hash(authorization)
        let found: AccessToken?
        switch tokens.check(hash: hash) {
        case .valid(let cached):
            found = cached
        case .unknown:
            found = nil
        case .throttled:
            throw SchedulerError(
                .unavailable, "too many calls with unknown tokens in the last second (over \(tokens.failedLookupsPerSecond)); try again")
        case .lookUp:
            found = try await store.activeToken(secret: authorization)
            if let found { tokens.insert(found, hash: hash) } else { tokens.insertUnknown(hash: hash) }
        }
        guard let token = found else {
            throw SchedulerError(.unauthenticated, "the token is unknown or revoked")
        }
        let principal = token.principal
        switch entry.permission.decide(for: principal) {
        case .allowed:
            return token
        case .unauthenticated:
            throw SchedulerError(.unauthenticated, "the token is unknown or revoked")
        case .denied:
            throw SchedulerError(
                .permissionDenied, "a \(principal.role.rawValue) token may not call \(entry.descriptor.name)")
        }
    }
}

/// Events the server sends down a connection's pipeline on shutdown.
enum DrainEvent: Sendable {
    /// Send GoAway, refuse new calls, close when the calls in flight are done.
    case begin
    /// The drain timeout passed: cancel what is left and close.
    case force
}

/// Recently seen valid tokens, keyed by the secret's SHA-256, so authenticated calls need not
/// read the store every time. An entry lives `lifetime` at most; revoking through this server
/// drops it at once, and a revocation made through another server (PostgreSQL, later) takes
/// effect here within `lifetime`.
///
/// Failed lookups cannot hammer the store either: a secret the store did not know is refused
/// without a lookup for `unknownLifetime` (the same bad token sent again and again costs one
/// lookup a second), and lookups of secrets not seen valid lately are limited to
/// `failedLookupsPerSecond` (random bad tokens; past it such calls get UNAVAILABLE, which
/// clients retry). Secrets seen valid in the last `knownLifetime` are never held back, so
/// clients already at work go on while someone floods the server with made-up tokens.
final class TokenCache: Sendable {
    private struct Entry {
        var token: AccessToken
        var expires: ContinuousClock.Instant
    }

    /// What `authenticate` should do with a secret.
    enum Check {
        case valid(AccessToken)
        /// The store did not know it a moment ago.
        case unknown
        /// Too many lookups of unknown secrets lately.
        case throttled
        case lookUp
    }

    let lifetime: Duration
    let capacity: Int
    let unknownLifetime: Duration
    let knownLifetime: Duration
    let failedLookupsPerSecond: Int
    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        /// Tokens revoked through this server: a lookup that raced with the revocation cannot put them back.
        var revoked: Set<String> = []
        /// Secrets the store did not know, until when they are refused without a lookup.
        var unknown: [[UInt8]: ContinuousClock.Instant] = [:]
        /// Secrets found valid, until when their lookups are never throttled.
        var known: [[UInt8]: ContinuousClock.Instant] = [:]
        /// Lookups of secrets not known valid still allowed now (a token bucket).
        var allowance: Double
        var refilled: ContinuousClock.Instant
    }

    private let state: Mutex<State>

    init(
        lifetime: Duration = .seconds(2), capacity: Int = 10_000, unknownLifetime: Duration = .seconds(1),
        knownLifetime: Duration = .seconds(600), failedLookupsPerSecond: Int = 1000
    ) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.unknownLifetime = unknownLifetime
        self.knownLifetime = knownLifetime
        self.failedLookupsPerSecond = failedLookupsPerSecond
        state = Mutex(State(allowance: Double(failedLookupsPerSecond), refilled: .now))
    }

    /// Whether the secret whose hash is `hash` is known valid, known unknown, or must be looked up.
    func check(hash: [UInt8]) -> Check {
        let now = ContinuousClock.now
        let rate = Double(failedLookupsPerSecond)
        return state.withLock { state in
            if let entry = state.entries[hash] {
                if entry.expires > now, !state.revoked.contains(entry.token.id) { return .valid(entry.token) }
                state.entries[hash] = nil
            }
            if let until = state.unknown[hash] {
                if until > now { return .unknown }
                state.unknown[hash] = nil
            }
            if let until = state.known[hash], until > now { return .lookUp }
            let elapsed = now - state.refilled
            state.refilled = now
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.allowance = min(rate, state.allowance + seconds * rate)
            guard state.allowance >= 1 else { return .throttled }
            state.allowance -= 1
            return .lookUp
        }
    }

    func insert(_ token: AccessToken, hash: [UInt8]) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard !state.revoked.contains(token.id) else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[hash] = Entry(token: token, expires: now + lifetime)
            if state.known.count >= capacity { state.known = state.known.filter { $0.value > now } }
            if state.known.count >= capacity { state.known.removeAll(keepingCapacity: true) }
            state.known[hash] = now + knownLifetime
            state.unknown[hash] = nil
        }
    }

    /// Remembers, for `unknownLifetime`, that the store did not know this secret.
    func insertUnknown(hash: [UInt8]) {
        let now = ContinuousClock.now
        state.withLock { state in
            if state.unknown.count >= capacity { state.unknown = state.unknown.filter { $0.value > now } }
            if state.unknown.count >= capacity { state.unknown.removeAll(keepingCapacity: true) }
            state.unknown[hash] = now + unknownLifetime
            state.known[hash] = nil
        }
    }

    /// Forgets a token at once and for good (it was revoked).
    func remove(tokenID: String) {
        state.withLock { state in
            if state.revoked.count >= capacity { state.revoked.removeAll(keepingCapacity: true) }
            state.revoked.insert(tokenID)
            for (hash, entry) in state.entries where entry.token.id == tokenID { state.entries[hash] = nil }
        }
    }
}
