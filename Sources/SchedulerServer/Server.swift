import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SchedulerCore
import SchedulerStore
import SchedulerWire
import ServiceLifecycle
import Synchronization

/// The RPC server: listens on TCP and/or Unix sockets and answers calls. Run it as a
/// `Service`; on graceful shutdown it stops accepting, sends GoAway on every connection,
/// lets the calls already started finish (up to the drain timeout) and returns.
public final class Server: Service, Sendable {
    public static let version = "0.1.0"

    private let runtime: ServerRuntime
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(Lifecycle())
    private let stopped: EventLoopPromise<Void>
    private let tlsContext: NIOSSLContext?

    /// The TLS context of the TCP listeners; a file that cannot be read or parsed is named.
    static func tlsContext(_ files: ServerConfiguration.TLSFiles, closeTimeout: Duration = .seconds(5)) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
        } catch {
            throw SchedulerError(.invalidArgument, "cannot read a PEM certificate chain from \(files.certificateChain): \(error)", field: "tls-cert")
        }
        guard !chain.isEmpty else {
            throw SchedulerError(.invalidArgument, "\(files.certificateChain) holds no certificate", field: "tls-cert")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        } catch {
            throw SchedulerError(.invalidArgument, "cannot read a PEM private key from \(files.privateKey): \(error)", field: "tls-key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        // A peer that never answers close_notify holds its descriptor no longer than this.
        configuration.shutdownTimeout = TimeAmount(closeTimeout)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw SchedulerError(.invalidArgument, "the TLS certificate and key do not make a usable pair: \(error)", field: "tls-key")
        }
    }

    private struct Lifecycle {
        var listeners: [any Channel] = []
        var started = false
        var shuttingDown = false
    }

    public init(
        configuration: ServerConfiguration, store: any Store, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        let tokens = TokenCache()
        var registry = HandlerRegistry(decodeBudget: configuration.decodeBudgetBytes)
        AdminService(
            store: store, tokens: tokens, version: Self.version, startedAt: .now,
            watchMinimumInterval: configuration.watchHealthMinimumInterval
        ).register(in: &registry)
        NurseryService(store: store).register(in: &registry)
        IntakeService(store: store).register(in: &registry)
        CounsellingService(store: store).register(in: &registry)
        MentoringService(store: store).register(in: &registry)
        let methods = try MethodTable(handlers: registry.handlers)
        runtime = ServerRuntime(
            configuration: configuration, methods: methods, store: store, tokens: tokens, logger: logger, now: now)
        tlsContext = try configuration.tls.map { try Self.tlsContext($0, closeTimeout: configuration.closeTimeout) }
        let threads = configuration.eventLoopThreads > 0 ? configuration.eventLoopThreads : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        stopped = group.next().makePromise()
    }

    /// The addresses the server listens on (port 0 is replaced by the real port). Empty before `start()`.
    public var localAddresses: [SocketAddress] {
        state.withLock { $0.listeners.compactMap(\.localAddress) }
    }

    /// Binds every listener. `run()` calls it; tests call it to learn the port first.
    public func start() async throws {
        guard
            state.withLock({ state in
                defer { state.started = true }
                return !state.started
            })
        else { return }
        let runtime = self.runtime
        /// TCP connections start with TLS when it is configured; Unix sockets never do.
        let sendBuffer = runtime.configuration.socketSendBufferBytes
        func bootstrap(tls: NIOSSLContext?) -> ServerBootstrap {
            var bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
            if let sendBuffer { bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(sendBuffer)) }
            return
                bootstrap
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(runtime: runtime, eventLoop: channel.eventLoop, tls: tls != nil))
                    }
                }
        }
        let tcp = bootstrap(tls: tlsContext), local = bootstrap(tls: nil)
        var listeners: [any Channel] = []
        do {
            for listener in runtime.configuration.listeners {
                switch listener {
                case .tcp(let host, let port):
                    listeners.append(try await tcp.bind(host: host, port: port).get())
                case .unix(let path):
                    // Only the server's user may connect: the socket file's permissions are the access
                    // control, so the file is created with them (umask) and checked afterwards.
                    let previous = umask(0o077)
                    let bound = try await local.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
                    umask(previous)
                    listeners.append(bound)
                    guard chmod(path, 0o600) == 0 else {
                        throw SchedulerError(.internal, "cannot restrict the permissions of the Unix socket \(path)")
                    }
                }
            }
        } catch {
            // Nothing half-started: close what did bind, so a later start() can try again.
            for channel in listeners { try? await channel.close() }
            state.withLock { $0.started = false }
            throw error
        }
        state.withLock { $0.listeners = listeners }
        runtime.logger.info(
            "sosched-server listening",
            metadata: [
                "addresses": "\(listeners.compactMap(\.localAddress).map { "\($0)" })", "store": "\(runtime.store.kind)",
                "tls": "\(tlsContext != nil ? "on TCP listeners" : "off")",
            ])
    }

    public func run() async throws {
        try await start()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await stopped.futureResult.get()
            } onGracefulShutdown: {
                self.beginShutdown()
            }
        } onCancel: {
            self.beginShutdown(force: true)
        }
        try await group.shutdownGracefully()
    }

    /// Stops accepting, drains every connection and waits until all are closed.
    public func shutdownGracefully() async throws {
        beginShutdown()
        try await stopped.futureResult.get()
        try await group.shutdownGracefully()
    }

    private func beginShutdown(force: Bool = false) {
        let (listeners, first) = state.withLock { state in
            defer { state.shuttingDown = true }
            return (state.listeners, !state.shuttingDown)
        }
        // Draining first: a connection admitted from now on refuses itself; any earlier one is listed below.
        if first { runtime.beginDraining() }
        let channels = runtime.openChannels
        if force {
            for channel in channels { channel.pipeline.fireUserInboundEventTriggered(DrainEvent.force) }
        }
        guard first else { return }
        runtime.logger.info("shutting down: draining connections", metadata: ["connections": "\(channels.count)"])
        let eventLoop = group.next()
        let listenersClosed = listeners.map { $0.close() }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(DrainEvent.begin) }
        let closed = channels.map(\.closeFuture) + listenersClosed
        let stopped = self.stopped
        // When the drain timeout passes, what is left is cancelled and closed; a second later
        // the server stops whatever its connections are still doing (a TLS close_notify that is
        // never answered, say): SIGTERM ends the process within the drain timeout and a second.
        let drainTimer = eventLoop.scheduleTask(in: TimeAmount(runtime.configuration.drainTimeout)) {
            for channel in channels { channel.pipeline.fireUserInboundEventTriggered(DrainEvent.force) }
            eventLoop.scheduleTask(in: .seconds(1)) { stopped.succeed() }
        }
        EventLoopFuture.andAllComplete(closed, on: eventLoop).whenComplete { _ in
            drainTimer.cancel()
            stopped.succeed()
        }
    }
}

/// Forgets idempotency keys older than the retention (48 hours by default, so a key lives at
/// least the 24 hours `protocol.md` promises), once an hour.
public struct IdempotencyJanitor: Service {
    let store: any Store
    let retention: Duration
    let logger: Logger
    let now: @Sendable () -> Date

    public init(store: any Store, retention: Duration = .seconds(48 * 3600), logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.retention = retention
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let cutoff = now().addingTimeInterval(-Double(retention.components.seconds))
                    let purged = try await store.purgeIdempotencyKeys(before: cutoff)
                    if purged > 0 { logger.info("purged idempotency keys", metadata: ["count": "\(purged)"]) }
                    try await Task.sleep(for: .seconds(3600))
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("purging idempotency keys failed", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(60))
                }
            }
        }
    }
}
