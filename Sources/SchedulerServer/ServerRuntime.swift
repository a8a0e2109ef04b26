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
    private let connections = Mutex(Connections())
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

    /// Every accepted socket until it closes: the admitted ones (by client address too) and
    /// the ones being refused, which still hold a descriptor while their GoAway goes out.
    private struct Connections {
        var open: [ObjectIdentifier: (channel: any Channel, address: String?)] = [:]
        var byAddress: [String: Int] = [:]
        var refusing: Set<ObjectIdentifier> = []
    }

    /// Connections being refused at most at once; beyond, new ones are closed without a GoAway.
    static let maxRefusing = 256

    enum Admission {
        case admitted
        /// Over a limit: send this GoAway, then close.
        case refused(Status)
        /// Over a limit while many refusals are already under way: close at once.
        case dropped
    }

    /// Registers a new connection, or says why it is refused. `address` is the client's IP
    /// address (nil for Unix sockets, which have no per-address limit).
    func admit(_ channel: any Channel, address: String?) -> Admission {
        let id = ObjectIdentifier(channel)
        let limits = configuration
        return connections.withLock { state in
            let refusal: Status
            if state.open.count >= limits.maxConnections {
                refusal = Status(
                    .resourceExhausted, "the server has reached its connection limit of \(limits.maxConnections) (max-connections); try again later")
            } else if let address, state.byAddress[address, default: 0] >= limits.maxConnectionsPerAddress {
                refusal = Status(
                    .resourceExhausted,
                    "too many connections from your address (limit \(limits.maxConnectionsPerAddress), max-connections-per-address); close some or try again later"
                )
            } else {
                state.open[id] = (channel, address)
                if let address { state.byAddress[address, default: 0] += 1 }
                return .admitted
            }
            guard state.refusing.count < Self.maxRefusing else { return .dropped }
            state.refusing.insert(id)
            return .refused(refusal)
        }
    }

    func remove(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        connections.withLock { state in
            state.refusing.remove(id)
            guard let (_, address) = state.open.removeValue(forKey: id), let address else { return }
            let left = state.byAddress[address, default: 1] - 1
            state.byAddress[address] = left > 0 ? left : nil
        }
    }

    var openChannels: [any Channel] { connections.withLock { $0.open.values.map(\.channel) } }

    var isDraining: Bool { draining.load(ordering: .acquiring) }

    private let openStreams = Atomic<Int>(0)

    /// Takes one of the server's `maxStreams` places for a streaming call; false when all are taken.
    func acquireStream() -> Bool {
        let limit = configuration.maxStreams
        while true {
            let current = openStreams.load(ordering: .relaxed)
            guard current < limit else { return false }
            if openStreams.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged { return true }
        }
    }

    func releaseStream() { openStreams.subtract(1, ordering: .relaxed) }

    private let runningHandlers = Atomic<Int>(0)

    /// Handlers running now. A handler ends after its connection closes (its task is cancelled,
    /// and long work such as planning stops at its next check), so the server waits for none to
    /// be left before it stops its event loops: a handler that wrote to a stopped loop would fail.
    var handlersRunning: Int { runningHandlers.load(ordering: .acquiring) }
    func handlerStarted() { runningHandlers.add(1, ordering: .relaxed) }
    func handlerEnded() { runningHandlers.subtract(1, ordering: .releasing) }

    func beginDraining() { draining.store(true, ordering: .releasing) }

    /// Checks the caller's token against the method's permission. `client` is who asks (the connection's IP address, "unix" for the Unix socket): each
    /// client has its own allowance of lookups of unknown secrets, so one flooding client
    /// cannot lock others out.
    func authenticate(_ entry: MethodEntry, authorization: String, client: String = "") async throws -> AccessToken? {
        if entry.permission == .anyone { return nil }
        guard !authorization.isEmpty else {
            throw SchedulerError(.unauthenticated, "\(entry.method.name) needs a token in Call.authorization")
        }
        let hash = TokenSecret.hash(authorization)
        let found: AccessToken?
        // Calls with a secret already being looked up wait for that lookup (a client's first
        // burst of calls with a new token costs one lookup and none of its allowance).
        if let pending = lookups.withLock({ $0[hash] }) {
            found = try await pending.value
        } else {
            found = try await check(hash: hash, authorization: authorization, client: client)
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
                .permissionDenied, "a \(principal.role.rawValue) token may not call \(entry.method.name)")
        }
    }

    /// Secrets being looked up in the store now, by hash.
    private let lookups = Mutex<[[UInt8]: Task<AccessToken?, any Error>]>([:])

    /// The token of a secret: from the cache, or looked up once however many calls ask meanwhile.
    private func check(hash: [UInt8], authorization: String, client: String) async throws -> AccessToken? {
        switch tokens.check(hash: hash, client: client) {
        case .valid(let cached):
            return cached
        case .unknown:
            return nil
        case .throttled:
            throw SchedulerError(
                .unavailable,
                "too many calls with unknown tokens in the last second (over \(tokens.clientLookupsPerSecond) from your address, or \(tokens.failedLookupsPerSecond) in all); try again"
            )
        case .lookUp:
            let (store, tokens) = (self.store, self.tokens)
            let lookup = lookups.withLock { lookups in
                if let pending = lookups[hash] { return pending }
                let started = Task { () async throws -> AccessToken? in
                    let found = try await store.activeToken(secret: authorization)
                    if let found { tokens.insert(found, hash: hash) } else { tokens.insertUnknown(hash: hash) }
                    return found
                }
                lookups[hash] = started
                return started
            }
            defer { lookups.withLock { if $0[hash] == lookup { $0[hash] = nil } } }
            return try await lookup.value
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
    let clientLookupsPerSecond: Int

    /// A token bucket: `rate` a second, bursts of `rate`.
    private struct Bucket {
        var allowance: Double
        var refilled: ContinuousClock.Instant

        mutating func take(rate: Double, now: ContinuousClock.Instant) -> Bool {
            let elapsed = now - refilled
            refilled = now
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            allowance = min(rate, allowance + seconds * rate)
            guard allowance >= 1 else { return false }
            allowance -= 1
            return true
        }
    }

    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        /// Tokens revoked through this server: a lookup that raced with the revocation cannot put them back.
        var revoked: Set<String> = []
        /// Secrets the store did not know, until when they are refused without a lookup.
        var unknown: [[UInt8]: ContinuousClock.Instant] = [:]
        /// Secrets found valid, until when their lookups are never throttled.
        var known: [[UInt8]: ContinuousClock.Instant] = [:]
        /// Lookups of secrets not known valid still allowed now, in all and by client.
        var all: Bucket
        var clients: [String: Bucket] = [:]
    }

    private let state: Mutex<State>

    init(
        lifetime: Duration = .seconds(2), capacity: Int = 10_000, unknownLifetime: Duration = .seconds(1),
        knownLifetime: Duration = .seconds(600), failedLookupsPerSecond: Int = 1000, clientLookupsPerSecond: Int = 20
    ) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.unknownLifetime = unknownLifetime
        self.knownLifetime = knownLifetime
        self.failedLookupsPerSecond = failedLookupsPerSecond
        self.clientLookupsPerSecond = clientLookupsPerSecond
        state = Mutex(State(all: Bucket(allowance: Double(failedLookupsPerSecond), refilled: .now)))
    }

    /// Whether the secret whose hash is `hash` is known valid, known unknown, or must be looked up.
    func check(hash: [UInt8], client: String = "") -> Check {
        let now = ContinuousClock.now
        let rate = Double(failedLookupsPerSecond), clientRate = Double(clientLookupsPerSecond)
        let capacity = self.capacity
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
            // The client's own allowance first: a client over it does not use up everyone's.
            if state.clients[client] == nil, state.clients.count >= capacity {
                // Full buckets are as good as none: forget them, then, if need be, all.
                state.clients = state.clients.filter { now - $0.value.refilled < .seconds(1) }
                if state.clients.count >= capacity { state.clients.removeAll(keepingCapacity: true) }
            }
            var bucket = state.clients[client] ?? Bucket(allowance: clientRate, refilled: now)
            let allowed = bucket.take(rate: clientRate, now: now)
            state.clients[client] = bucket
            guard allowed, state.all.take(rate: rate, now: now) else { return .throttled }
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
