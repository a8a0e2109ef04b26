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
                refusal = Status(.resourceExhausted, "the server has reached its connection limit of \(limits.maxConnections) (max-connections); try again later")
            } else if let address, state.byAddress[address, default: 0] >= limits.maxConnectionsPerAddress {
                refusal = Status(.resourceExhausted, "too many connections from your address (limit \(limits.maxConnectionsPerAddress), max-connections-per-address); close some or try again later")
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
