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
    private let draining = Atomic<Bool>(false)

    init(configuration: ServerConfiguration, methods: MethodTable, store: any Store, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.configuration = configuration
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
    func authenticate(_ entry: MethodEntry, authorization: String) async throws -> Principal? {
        if entry.permission == .anyone { return nil }
        guard !authorization.isEmpty else {
            throw SchedulerError(.unauthenticated, "\(entry.descriptor.name) needs a token in Call.authorization")
        }
        guard let token = try await store.activeToken(secret: authorization) else {
            throw SchedulerError(.unauthenticated, "the token is unknown or revoked")
        }
        let principal = token.principal
        switch entry.permission.decide(for: principal) {
        case .allowed:
            return principal
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
