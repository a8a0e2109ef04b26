import Foundation
import Logging
import NIOCore
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore

/// A real server on a free loopback port with a real SQLite store in a temporary directory.
public final class TestServer: Sendable {
    public let server: Server
    public let store: SQLiteStore
    public let directory: URL
    public let port: Int
    /// The secret of an admin token made directly in the store.
    public let adminToken: String

    private init(server: Server, store: SQLiteStore, directory: URL, port: Int, adminToken: String) {
        self.server = server
        self.store = store
        self.directory = directory
        self.port = port
        self.adminToken = adminToken
    }

    /// `now` is the server's clock (the real one unless a test fixes the day).
    public static func start(
        configure: (inout ServerConfiguration) -> Void = { _ in }, now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> TestServer {
        let directory = try TemporaryDirectory.make()
        let store = try SQLiteStore(directory: directory)
        var configuration = ServerConfiguration()
        configuration.listeners = [.tcp(host: "127.0.0.1", port: 0)]
        configuration.eventLoopThreads = 2
        configure(&configuration)
        var logger = Logger(label: "test-server")
        logger.logLevel = .critical
        let server = try Server(configuration: configuration, store: store, logger: logger, now: now)
        try await server.start()
        let port = server.localAddresses.compactMap(\.port).first ?? 0
        let admin = try await Self.issue(store: store, role: .admin, scope: nil)
        return TestServer(server: server, store: store, directory: directory, port: port, adminToken: admin)
    }

    private static func issue(store: SQLiteStore, role: Role, scope: Scope?) async throws -> String {
        let outcome = try await store.createToken(
            role: role, scope: scope, name: "test \(role.rawValue)",
            context: MutationContext(actor: nil, method: "test")
        ) { _ in [] }
        guard case .applied(let issued, _) = outcome else { throw TestFailure("token was not created") }
        return issued.secret
    }

    /// A token of `role` made directly in the store; returns its secret.
    public func makeToken(role: Role, scope: Scope? = nil) async throws -> String {
        try await Self.issue(store: store, role: role, scope: scope)
    }

    /// A site made directly in the store (tokens' scopes must name sites that exist).
    public func makeSite(_ id: String, timeZone: String = "Asia/Almaty") async throws {
        _ = try await store.createSite(
            Site(id: id, name: id.capitalized, timeZone: timeZone), context: MutationContext(actor: nil, method: "test")
        ) { _ in [] }
    }

    public var address: ServerAddress { .tcp(host: "127.0.0.1", port: port) }

    public func client(token: String?) -> SchedulerClient {
        SchedulerClient(address: address, token: token)
    }

    /// Drains and stops the server, closes the store and removes the directory.
    public func stop() async throws {
        try await server.shutdownGracefully()
        try await store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` against a fresh server and always stops it.
    public static func with<T>(
        configure: (inout ServerConfiguration) -> Void = { _ in }, now: @escaping @Sendable () -> Date = { Date() },
        _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let server = try await start(configure: configure, now: now)
        do {
            let result = try await body(server)
            try await server.stop()
            return result
        } catch {
            try? await server.stop()
            throw error
        }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum TemporaryDirectory {
    public static func make() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sosched-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
