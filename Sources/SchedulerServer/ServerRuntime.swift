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
        if let cached = tokens.lookup(hash: hash) {
            found = cached
        } else {
            found = try await store.activeToken(secret: authorization)
            if let found { tokens.insert(found, hash: hash) }
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
final class TokenCache: Sendable {
    private struct Entry {
        var token: AccessToken
        var expires: ContinuousClock.Instant
    }

    let lifetime: Duration
    let capacity: Int
    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        /// Tokens revoked through this server: a lookup that raced with the revocation cannot put them back.
        var revoked: Set<String> = []
    }

    private let state = Mutex(State())

    init(lifetime: Duration = .seconds(2), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func lookup(hash: [UInt8]) -> AccessToken? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let entry = state.entries[hash] else { return nil }
            guard entry.expires > now, !state.revoked.contains(entry.token.id) else {
                state.entries[hash] = nil
                return nil
            }
            return entry.token
        }
    }

    func insert(_ token: AccessToken, hash: [UInt8]) {
        let expires = ContinuousClock.now + lifetime
        state.withLock { state in
            guard !state.revoked.contains(token.id) else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[hash] = Entry(token: token, expires: expires)
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
