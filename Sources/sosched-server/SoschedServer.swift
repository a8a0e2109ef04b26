import ArgumentParser
import Foundation
import Logging
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore
import ServiceLifecycle
import UnixSignals

@main
struct SoschedServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sosched-server",
        abstract: "The sosched scheduling server: nursery places, counsellor sessions, mentor batches.",
        discussion: """
            Example:
              sosched-server token create --data ./var --role admin --name "first admin"
              sosched-server serve --data ./var --listen 127.0.0.1:7433
              SOSCHED_PG_PASSWORD=... sosched-server serve --store postgres://sosched@db.internal:5432/sosched
            """,
        version: Server.version,
        subcommands: [Serve.self, Migrate.self, TokenCommand.self, Demo.self, Export.self, Import.self]
    )
}

struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Directory of the SQLite store (created if missing). Not used with --store.")
    var data: String = "./var"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A PostgreSQL store instead of SQLite: postgres://USER@HOST:PORT/DATABASE (add ?sslmode=require for TLS).",
            discussion: "The password comes from the environment (SOSCHED_PG_PASSWORD, else PGPASSWORD) or --store-password-file, never from a flag."))
    var store: String?

    @Option(name: .long, help: "File whose first line is the PostgreSQL password.")
    var storePasswordFile: String?

    @Option(name: .long, help: "Most connections this process opens to PostgreSQL.")
    var storeConnections: Int = 20

    @Option(name: .long, help: "Seconds one PostgreSQL statement may run before it is stopped (the call fails, nothing changes).")
    var storeStatementTimeout: Double = 30

    @Option(name: .long, help: "Seconds a PostgreSQL statement may wait for a lock held by another transaction.")
    var storeLockTimeout: Double = 10

    func validate() throws {
        if let store {
            do { _ = try PostgresLocation(parsing: store) } catch let error as SchedulerError { throw ValidationError("--store: \(error.message)") }
        }
        if storePasswordFile != nil, store == nil { throw ValidationError("--store-password-file needs --store") }
        if storeConnections <= 0 { throw ValidationError("--store-connections must be a positive number") }
        for (name, value) in [("--store-statement-timeout", storeStatementTimeout), ("--store-lock-timeout", storeLockTimeout)]
        where !(value.isFinite && value >= 0.001 && value <= 86_400) {
            throw ValidationError("\(name) must be a number of seconds from 0.001 to 86400 (a day)")
        }
    }

    /// Where the data is, for messages.
    var storeDescription: String {
        if let store, let location = try? PostgresLocation(parsing: store) { return location.description }
        return URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("sosched.sqlite").path
    }

    func openStore() async throws -> any StoreTransfer {
        guard let store else { return try SQLiteStore(directory: URL(fileURLWithPath: data, isDirectory: true)) }
        let location = try PostgresLocation(parsing: store)
        return try await PostgresStore(
            location: location, password: try password(), maxConnections: storeConnections,
            statementTimeout: .milliseconds(Int64(storeStatementTimeout * 1000)), lockTimeout: .milliseconds(Int64(storeLockTimeout * 1000)))
    }

    private func password() throws -> String? {
        if let storePasswordFile {
            guard let text = try? String(contentsOfFile: storePasswordFile, encoding: .utf8) else {
                throw ValidationError("--store-password-file: cannot read \(storePasswordFile)")
            }
            return text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        }
        let environment = ProcessInfo.processInfo.environment
        return environment["SOSCHED_PG_PASSWORD"] ?? environment["PGPASSWORD"]
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server in the foreground until SIGTERM or SIGINT.",
        discussion: """
            Pending migrations are applied at start. On SIGTERM/SIGINT the server stops accepting,
            sends GoAway on every connection, lets started calls finish (up to --drain-timeout) and exits.

            Example:
              sosched-server serve --data ./var --listen 127.0.0.1:7433 --unix /run/sosched/sosched.sock
              sosched-server serve --data ./var --listen 0.0.0.0:7433 --tls-cert server.pem --tls-key server.key
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "TCP address to listen on, HOST:PORT (port 0 picks a free port). Use 'none' for no TCP listener.")
    var listen: String = "127.0.0.1:7433"

    @Option(help: "Also listen on this Unix domain socket (mode 600).")
    var unix: String?

    @Option(help: "Largest frame in bytes, checked on the length prefix.")
    var maxFrameBytes: Int = 4 << 20

    @Option(help: "Most bytes the decoder may allocate for one frame or request.")
    var decodeBudgetBytes: Int = 64 << 20

    @Option(help: "Calls in flight on one connection.")
    var maxCallsInFlight: Int = 100

    @Option(help: "Open connections.")
    var maxConnections: Int = 4096

    @Option(help: "Open connections from one client IP address (Unix socket clients are not counted).")
    var maxConnectionsPerAddress: Int = 256

    @Option(help: "Seconds a new connection has to send the preface.")
    var prefaceTimeout: Double = 10

    @Option(help: "Seconds a started frame has to arrive completely.")
    var partialFrameTimeout: Double = 30

    @Option(help: "Seconds a connection may go without a call (pings do not count) with no call in flight.")
    var idleTimeout: Double = 300

    @Option(help: "Seconds a TLS connection has to finish its handshake.")
    var tlsHandshakeTimeout: Double = 10

    @Option(help: "Seconds replies may wait unsent without moving (the client stopped reading) before the connection is closed.")
    var writeTimeout: Double = 30

    @Option(help: "Seconds a connection being sent away has to take its GoAway before it is closed regardless.")
    var closeTimeout: Double = 5

    @Option(help: "Kernel send buffer per TCP connection in bytes (SO_SNDBUF); default: the system's self-tuning one.")
    var socketSendBuffer: Int?

    @Option(help: "Server-streaming calls open at once on the whole server; more are refused (RESOURCE_EXHAUSTED).")
    var maxStreams: Int = 128

    @Option(help: "Seconds: the shortest interval WatchHealth accepts.")
    var watchMinInterval: Double = 0.1

    @Option(help: "Seconds started calls have to finish on shutdown.")
    var drainTimeout: Double = 30

    @Option(help: "Event loop threads (0: one per core).")
    var threads: Int = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "PEM certificate chain for TLS on the TCP listeners (with --tls-key).")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    func validate() throws {
        for (name, value) in [
            ("--max-frame-bytes", maxFrameBytes), ("--decode-budget-bytes", decodeBudgetBytes),
            ("--max-calls-in-flight", maxCallsInFlight), ("--max-connections", maxConnections),
            ("--max-connections-per-address", maxConnectionsPerAddress), ("--max-streams", maxStreams),
        ] where value <= 0 {
            throw ValidationError("\(name) must be a positive number")
        }
        for (name, value) in [
            ("--preface-timeout", prefaceTimeout), ("--partial-frame-timeout", partialFrameTimeout),
            ("--idle-timeout", idleTimeout), ("--drain-timeout", drainTimeout),
            ("--tls-handshake-timeout", tlsHandshakeTimeout), ("--write-timeout", writeTimeout), ("--close-timeout", closeTimeout),
            ("--watch-min-interval", watchMinInterval),
        ] where !(value.isFinite && value > 0 && value <= 86_400) {
            throw ValidationError("\(name) must be a number of seconds above 0 and at most 86400 (a day)")
        }
        if let socketSendBuffer, socketSendBuffer <= 0 {
            throw ValidationError("--socket-send-buffer must be a positive number of bytes")
        }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if listen != "none", Self.parseHostPort(listen) == nil {
            throw ValidationError("--listen must be HOST:PORT (e.g. 127.0.0.1:7433) or none")
        }
        if listen == "none", unix == nil {
            throw ValidationError("with --listen none, give --unix PATH")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("give both --tls-cert and --tls-key, or neither")
        }
    }

    /// `--listen` as a TCP address, parsed like every `host:port` the CLI takes.
    static func parseHostPort(_ text: String) -> (String, Int)? {
        guard case .tcp(let host, let port)? = ServerAddress(parsing: text) else { return nil }
        return (host, port)
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "sosched-server")
        var configuration = ServerConfiguration()
        configuration.listeners = []
        if listen != "none", let (host, port) = Self.parseHostPort(listen) {
            configuration.listeners.append(.tcp(host: host, port: port))
        }
        if let unix { configuration.listeners.append(.unix(path: unix)) }
        configuration.maxFrameBytes = maxFrameBytes
        configuration.decodeBudgetBytes = decodeBudgetBytes
        configuration.maxCallsInFlight = maxCallsInFlight
        configuration.maxConnections = maxConnections
        configuration.maxConnectionsPerAddress = maxConnectionsPerAddress
        configuration.prefaceTimeout = .milliseconds(Int64(prefaceTimeout * 1000))
        configuration.partialFrameTimeout = .milliseconds(Int64(partialFrameTimeout * 1000))
        configuration.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        configuration.drainTimeout = .milliseconds(Int64(drainTimeout * 1000))
        configuration.tlsHandshakeTimeout = .milliseconds(Int64(tlsHandshakeTimeout * 1000))
        configuration.writeTimeout = .milliseconds(Int64(writeTimeout * 1000))
        configuration.socketSendBufferBytes = socketSendBuffer
        configuration.maxStreams = maxStreams
        configuration.watchHealthMinimumInterval = .milliseconds(Int64(watchMinInterval * 1000))
        configuration.closeTimeout = .milliseconds(Int64(closeTimeout * 1000))
        configuration.eventLoopThreads = threads
        if let tlsCert, let tlsKey { configuration.tls = .init(certificateChain: tlsCert, privateKey: tlsKey) }

        let store = try await data.openStore()
        let server: Server
        do {
            server = try Server(configuration: configuration, store: store, logger: logger)
        } catch let error as SchedulerError {
            try? await store.close()
            // A field names the flag at fault (--tls-cert); without one the error is the server's own.
            throw ValidationError(error.field.map { "--\($0): \(error.message)" } ?? error.message)
        }
        // Bounded: the server stops its connections by the drain timeout (and a second); the
        // store gets two seconds to finish what it has started (a SQLite write waiting on a lock,
        // a PostgreSQL statement), then the process exits anyway: both stores roll back an
        // unfinished transaction, so nothing committed is lost.
        var groupConfiguration = ServiceGroupConfiguration(
            services: store.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                .init(service: IdempotencyJanitor(store: store, logger: logger)), .init(service: server),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(drainTimeout * 1000) + 2000)
        groupConfiguration.maximumCancellationDuration = .seconds(1)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            logger.warning("services did not stop in time", metadata: ["error": "\(error)"])
        }
        if await Self.close(store, within: .seconds(2)) {
            logger.info("sosched-server stopped")
        } else {
            logger.warning("sosched-server stopped; the store did not close within 2 s (its unfinished transaction rolls back)")
        }
    }

    /// Closes the store, waiting at most `limit`: true if it closed.
    static func close(_ store: any Store, within limit: Duration) async -> Bool {
        let (outcomes, continuation) = AsyncStream<Bool>.makeStream()
        Task {
            let closed = (try? await store.close()) != nil
            continuation.yield(closed)
        }
        Task {
            try? await Task.sleep(for: limit)
            continuation.yield(false)
        }
        for await closed in outcomes { return closed }
        return false
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the store or bring its schema up to date, then exit.",
        discussion: "Example:\n  sosched-server migrate --data ./var")

    @OptionGroup var data: DataOptions

    func run() async throws {
        let store = try await data.openStore()
        let applied = try await store.withRunningServices { try await store.appliedMigrations() }
        try await store.close()
        print("store at \(data.storeDescription) is up to date (\(applied.count) migrations: \(applied.joined(separator: ", ")))")
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage tokens directly in the store (works while the server runs).",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it, alone, on the last line of standard output.",
            discussion: """
                The token is shown once: only its SHA-256 is stored.

                Examples:
                  sosched-server token create --data ./var --role admin --name "first admin"
                  sosched-server token create --data ./var --role manager --scope site:almaty --name "Almaty office"
                """)

        @OptionGroup var data: DataOptions

        @Option(help: "admin, manager, counsellor or coordinator.")
        var role: String

        @Option(help: "site:ID, nursery:ID or counsellor:ID (required for every role but admin).")
        var scope: String?

        @Option(help: "A label for people.")
        var name: String = ""

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                throw ValidationError("--role must be admin, manager, counsellor or coordinator")
            }
            let parsedScope: Scope?
            do {
                parsedScope = try scope.map { text throws(SchedulerError) in try Scope(parsing: text) }
                try role.validate(scope: parsedScope)
            } catch {
                throw ValidationError(error.message.replacingOccurrences(of: "scope", with: "--scope", options: .anchored))
            }
            let store = try await data.openStore()
            let outcome = try await store.withRunningServices {
                try await store.createToken(
                    role: role, scope: parsedScope, name: name,
                    context: MutationContext(actor: nil, method: "sosched-server token create")
                ) { _ in [] }
            }
            try await store.close()
            guard case .applied(let issued, _) = outcome else { throw ExitCode.failure }
            print("created \(issued.token.role.rawValue) token \(issued.token.id)\(issued.token.scope.map { " for \($0)" } ?? "") (shown once; keep it safe):")
            print(issued.secret)
        }
    }
}
