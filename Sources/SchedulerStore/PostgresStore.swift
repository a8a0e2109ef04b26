import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SchedulerCore
import ServiceLifecycle
import Synchronization

/// The scale-out store: several servers share one PostgreSQL database, and no server holds
/// state another needs. Every change runs in one transaction with its idempotency record and
/// audit entry; the capacity invariant across servers rests on row locks (`SELECT … FOR
/// UPDATE` on the group, and on the child) taken inside the booking's transaction.
public final class PostgresStore: Store {
    public let kind = "postgres"
    /// Where the store is, without the password (for logs and `migrate`).
    public let location: PostgresLocation
    let client: PostgresClient
    let logger: Logger
    let ledgerCache = LedgerCache()
    /// The connection pool, which runs as a service (`services`): in the server's `ServiceGroup`,
    /// or in `withRunningServices`. Calls wait for a connection until it runs.
    public let services: [any Service]

    /// Connects once, directly, to apply pending migrations; the pool connects when it runs.
    ///
    /// Every connection's statements are bounded: one may run `statementTimeout` at most and
    /// wait `lockTimeout` at most for a lock (PostgreSQL's `statement_timeout` and
    /// `lock_timeout`, set when the connection starts), so a stuck statement or a lock held
    /// from elsewhere fails the call instead of holding a connection for ever.
    public init(
        location: PostgresLocation, password: String?, maxConnections: Int = 20, statementTimeout: Duration = .seconds(30),
        lockTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "sosched.postgres")
    ) async throws {
        self.location = location
        self.logger = logger
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database,
            tls: location.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maxConnections
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", Self.milliseconds(statementTimeout)), ("lock_timeout", Self.milliseconds(lockTimeout)),
        ]
        configuration.options.connectTimeout = .seconds(10)
        // The pool's own chatter (including a warning when the first lease races run()'s start) stays out of the log.
        var background = logger
        background.logLevel = .error
        // One direct connection first, which applies the migrations: the pool retries a failing
        // connect without end, so a wrong password or host would otherwise hang the start
        // instead of saying what is wrong; and opening needs no running pool.
        do {
            let probe = try await PostgresConnection.connect(
                configuration: PostgresConnection.Configuration(
                    host: location.host, port: location.port, username: location.user, password: password, database: location.database,
                    tls: location.requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable),
                id: 0, logger: background)
            do {
                try await Self.migrate(probe, logger: logger)
                try await probe.close()
            } catch {
                try? await probe.close()
                throw error
            }
        } catch {
            throw SchedulerError(.unavailable, "cannot open the PostgreSQL store at \(location): \(PostgresStore.describe(error))")
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.client = client
        self.services = [PoolService(client: client)]
    }

    /// A timeout as PostgreSQL takes it: whole milliseconds, at least 1 (0 would mean none).
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        guard !ms.overflow else { return "\(Int32.max)" }
        return "\(min(Int64(Int32.max), max(1, ms.partialValue + attoseconds / 1_000_000_000_000_000)))"
    }

    /// Nothing to release: the pool stops with its service (`services`), and calls after that fail UNAVAILABLE.
    public func close() async throws {}

    // MARK: Migrations

    /// The names of the migrations applied to the database, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await read { tx in try await tx.rows("SELECT name FROM schema_migration ORDER BY applied_seq").map { try $0.text(0) } }
    }

    /// Applies pending migrations over `connection`, in one transaction (retried, from the start,
    /// when PostgreSQL refuses it for a reason a retry cures).
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        var attempt = 0
        while true {
            let tx = PostgresTransaction(connection: connection, logger: logger, snapshot: false)
            do {
                try await tx.run("BEGIN")
                // One server migrates at a time; the others wait, then find nothing left to do.
                try await tx.run("SELECT pg_advisory_xact_lock(7433001)")
                try await tx.run(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migration (
                        applied_seq BIGINT GENERATED ALWAYS AS IDENTITY, name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                    """)
                let applied = Set(try await tx.rows("SELECT name FROM schema_migration").map { try $0.text(0) })
                for (name, statements) in PostgresSchema.migrations where !applied.contains(name) {
                    for statement in statements { try await tx.run(PostgresQuery(unsafeSQL: statement)) }
                    try await tx.run("INSERT INTO schema_migration (name) VALUES (\(name))")
                }
                try await tx.run("COMMIT")
                return
            } catch let error as PSQLError where attempt < 8 && isRetryable(error) {
                try await tx.run("ROLLBACK")
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << min(attempt, 4)))))
            } catch {
                try? await tx.run("ROLLBACK")
                throw error
            }
        }
    }

    /// The pool as a service that runs once: a second run throws instead of trapping.
    final class PoolService: Service {
        let client: PostgresClient
        let started = Atomic<Bool>(false)

        init(client: PostgresClient) { self.client = client }

        func run() async throws {
            guard !started.exchange(true, ordering: .relaxed) else {
                throw SchedulerError(.internal, "the PostgreSQL store's connection pool has run already; open the store again")
            }
            await client.run()
        }
    }

    // MARK: Transactions

    /// Runs `body` in a transaction, retried (a few times, from the start) when PostgreSQL
    /// refuses it for a reason a retry cures: a serialization failure, a deadlock, or a unique
    /// key another transaction took first (the retry then sees that transaction's row).
    ///
    /// `retry: false` is for bodies with effects outside the database (an export's output) or
    /// whose conflicts a retry cannot cure (an import's duplicate rows).
    func transaction<T: Sendable>(readOnly: Bool = false, retry: Bool = true, _ body: (PostgresTransaction) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await client.withConnection { connection in
                    let tx = PostgresTransaction(connection: connection, logger: logger, snapshot: readOnly)
                    try await tx.run(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
                    do {
                        let value = try await body(tx)
                        try await tx.run("COMMIT")
                        for (group, version, ledger) in tx.ledgersAfterCommit {
                            ledgerCache.store(group: group, version: version, ledger: ledger)
                        }
                        return value
                    } catch {
                        // A connection whose rollback failed may still be in the transaction: it is not reused.
                        do { try await tx.run("ROLLBACK") } catch { try? await connection.close() }
                        throw error
                    }
                }
            } catch let error as PSQLError where retry && attempt < 8 && Self.isRetryable(error) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << min(attempt, 4)))))
            } catch {
                throw Self.schedulerError(error, logger: logger)
            }
        }
    }

    /// What a client is told when the database fails (`StoreFailure` holds the table both stores
    /// share): UNAVAILABLE (retry later) for outages and conflicts, INVALID_ARGUMENT for a value
    /// PostgreSQL refuses (a NUL character in a text, say), FAILED_PRECONDITION for a broken
    /// constraint. The server's own message goes to the log, not to the client.
    static func schedulerError(_ error: any Error, logger: Logger) -> any Error {
        switch error {
        case is SchedulerError, is BookingRefused, is IntakeRunNeeds:
            return error
        case is CancellationError:
            return StoreFailure.cancelledCall.error
        case is PostgresDecodingError:
            logger.warning("PostgreSQL store error", metadata: ["error": "\(String(describing: error))"])
            return StoreFailure(
                kind: .unreadable, message: "the PostgreSQL store holds a value that cannot be read as what its column should hold; a row was changed by hand"
            ).error
        case let error as PSQLError:
            logger.warning("PostgreSQL refused a statement", metadata: ["error": "\(describe(error))"])
            return failure(
                sqlState: error.serverInfo?[.sqlState] ?? "", message: error.serverInfo?[.message], constraint: error.serverInfo?[.constraintName],
                code: "\(error.code)"
            ).error
        default:
            // The pool could not lease a connection (database down, pool closed) or a row did not decode.
            logger.warning("PostgreSQL store error", metadata: ["error": "\(String(describing: error))"])
            return StoreFailure(kind: .unavailable, message: "the PostgreSQL store is unavailable; try again").error
        }
    }

    /// The kind of failure a statement PostgreSQL refused with `sqlState` is (`code`: the
    /// client's own error code, for a failure without a state).
    static func failure(sqlState state: String, message: String?, constraint: String?, code: String) -> StoreFailure {
        let stateClass = state.prefix(2)
        switch state {
        case "57014":
            // statement_timeout (or a cancel request from an operator): nothing was committed.
            return StoreFailure(
                kind: .statementTimeout,
                message: "a statement ran past the PostgreSQL store's statement timeout (--store-statement-timeout) and was stopped; nothing was changed")
        case "55P03":
            // lock_timeout: another transaction (another server, or someone's psql session) holds the rows.
            return StoreFailure(
                kind: .locked,
                message:
                    "the records are locked by another transaction for longer than the PostgreSQL store's lock timeout (--store-lock-timeout); nothing was changed, try again"
            )
        case "XX001", "XX002":
            return StoreFailure(kind: .damaged, message: "the PostgreSQL store's data is damaged (\(state)); restore it from a backup")
        case "54000":
            return StoreFailure(kind: .invalidValue, message: "a value cannot be stored: \(message ?? "too big")")
        case "42501":
            return StoreFailure(kind: .resources, message: "the PostgreSQL store's user may not do this (\(state)): check its rights; try again")
        case "XX000":
            return StoreFailure(kind: .bug, message: "the PostgreSQL store failed (\(state))")
        default:
            break
        }
        switch stateClass {
        case "22":
            return StoreFailure(kind: .invalidValue, message: "a value cannot be stored: \(message ?? "invalid data") (texts may not hold NUL characters)")
        case "23":
            return StoreFailure(kind: .conflict, message: "the change conflicts with the stored records (constraint \(constraint ?? "unknown"))")
        case "53", "58":
            return StoreFailure(kind: .resources, message: "the PostgreSQL store is out of resources (\(state)): check its disk and limits; try again")
        case "42":
            return StoreFailure(kind: .bug, message: "the PostgreSQL store failed (\(state))")
        default:
            return StoreFailure(kind: .unavailable, message: "the PostgreSQL store is unavailable (\(state.isEmpty ? code : state)); try again")
        }
    }

    /// A consistent read (one snapshot for every statement).
    func read<T: Sendable>(_ body: (PostgresTransaction) async throws -> T) async throws -> T {
        try await transaction(readOnly: true, body)
    }

    static func isRetryable(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01" || state == "23505"
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "\(message) (\(error.serverInfo?[.sqlState] ?? "no state"))"
            }
            return "\(error.code)"
        }
        if let error = error as? SchedulerError { return error.message }
        return String(describing: error)
    }

    /// One change with its idempotency check, audit entry and stored reply, in one transaction;
    /// `beforeCommit` runs last, so a late call commits nothing.
    func mutate<Value: Sendable>(
        _ context: MutationContext, reply: @escaping @Sendable (Value) throws -> [UInt8],
        _ change: (PostgresTransaction) async throws -> (Value, records: [String])
    ) async throws -> Mutated<Value> {
        guard context.isWanted() else { throw StoreRules.cancelledBeforeItsTurn() }
        return try await transaction { tx in
            let actor = context.actor ?? ""
            if let key = context.idempotencyKey {
                // Calls with the same key take turns (on every server): a retry racing its
                // original waits here, then finds the original's stored reply. (A separate
                // statement: the lookup's snapshot must be taken after the lock is held.)
                try await tx.run("SELECT pg_advisory_xact_lock(hashtextextended(\(actor + "\u{1F}" + key), 7433))")
                if let row = try await tx.row("SELECT method, request_digest, reply FROM idempotency WHERE actor = \(actor) AND key = \(key)") {
                    return .replayed(
                        reply: try StoreRules.replay(
                            storedMethod: try row.text(0), storedDigest: try row.bytes(1), reply: try row.bytes(2), context: context))
                }
            }
            let (value, records) = try await change(tx)
            let bytes = try reply(value)
            let now = context.now.millisecondsSince1970
            if let key = context.idempotencyKey {
                // One statement (one round trip) for the audit entry and the stored reply.
                try await tx.run(
                    """
                    WITH entry AS (
                        INSERT INTO audit (at_ms, actor, method, records)
                        VALUES (\(now), \(context.actor), \(context.method), \(records.joined(separator: ",")))
                    )
                    INSERT INTO idempotency (actor, key, method, request_digest, reply, created_at_ms)
                    VALUES (\(actor), \(key), \(context.method), \(Data(context.requestDigest)), \(Data(bytes)), \(now))
                    """)
            } else {
                try await tx.run(
                    "INSERT INTO audit (at_ms, actor, method, records) VALUES (\(now), \(context.actor), \(context.method), \(records.joined(separator: ",")))")
            }
            try context.beforeCommit()
            return .applied(value, reply: bytes)
        }
    }

    // MARK: Tokens

    static let tokenColumns = "seq, id, role, scope, name, created_at_ms, created_by, revoked_at_ms"

    static func token(_ row: PostgresRandomAccessRow) throws -> AccessToken {
        try StoreRules.token(
            id: try row.text(1), role: try row.text(2), scope: try row.optionalText(3), name: try row.text(4),
            createdAtMS: Int64(try row.int(5)), createdBy: try row.optionalText(6), revokedAtMS: try row.optionalInt(7).map(Int64.init))
    }

    public func activeToken(secret: String) async throws -> AccessToken? {
        let hash = Data(TokenSecret.hash(secret))
        return try await read { tx in
            try await tx.row("SELECT \(unescaped: Self.tokenColumns) FROM token WHERE hash = \(hash) AND revoked_at_ms IS NULL").map(Self.token)
        }
    }

    public func listTokens(includeRevoked: Bool, after: Int64?, limit: Int) async throws -> (tokens: [AccessToken], next: Int64?) {
        try await read { tx in
            let rows = try await tx.rows(
                """
                SELECT \(unescaped: Self.tokenColumns) FROM token WHERE seq > \(Int(after ?? 0)) AND (\(includeRevoked) OR revoked_at_ms IS NULL)
                ORDER BY seq LIMIT \(limit + 1)
                """)
            let page = rows.prefix(limit)
            let next: Int64? = rows.count > limit ? try page.last.map { Int64(try $0.int(0)) } : nil
            return (try page.map(Self.token), next)
        }
    }

    public func createToken(
        role: Role, scope: Scope?, name: String, context: MutationContext, reply: @escaping @Sendable (IssuedToken) throws -> [UInt8]
    ) async throws -> Mutated<IssuedToken> {
        try role.validate(scope: scope)
        return try await mutate(context, reply: reply) { tx in
            if let scope, let table = StoreRules.scopeTable(scope),
                try await tx.row("SELECT 1 FROM \(unescaped: table) WHERE id = \(scope.id) FOR SHARE") == nil
            {
                throw StoreRules.scopeTargetMissing(scope)
            }
            let token = AccessToken(
                id: RecordID.make("tok"), role: role, scope: scope, name: name, createdAt: context.now, createdBy: context.actor, revokedAt: nil)
            let secret = TokenSecret.make()
            try await tx.run(
                """
                INSERT INTO token (id, hash, role, scope, name, created_at_ms, created_by)
                VALUES (\(token.id), \(Data(TokenSecret.hash(secret))), \(role.rawValue), \(scope?.description), \(name),
                        \(token.createdAt.millisecondsSince1970), \(token.createdBy))
                """)
            return (IssuedToken(token: token, secret: secret), ["token:\(token.id)"])
        }
    }

    /// Refuses to create what `scope` names while an active token already names it (see `StoreRules.scopeNamedByToken`).
    func checkScopeUnclaimed(_ tx: PostgresTransaction, _ scope: Scope, field: String) async throws {
        if let row = try await tx.row(
            "SELECT id FROM token WHERE scope = \(scope.description) AND revoked_at_ms IS NULL ORDER BY seq LIMIT 1")
        {
            throw StoreRules.scopeNamedByToken(scope, tokenID: try row.text(0), field: field)
        }
    }

    public func revokeToken(id: String, context: MutationContext, reply: @escaping @Sendable (AccessToken) throws -> [UInt8]) async throws -> Mutated<
        AccessToken
    > {
        try await mutate(context, reply: reply) { tx in
            try await tx.run("UPDATE token SET revoked_at_ms = \(context.now.millisecondsSince1970) WHERE id = \(id) AND revoked_at_ms IS NULL")
            guard let row = try await tx.row("SELECT \(unescaped: Self.tokenColumns) FROM token WHERE id = \(id)") else {
                throw SchedulerError(.notFound, "no token with id \(id)", field: "id")
            }
            return (try Self.token(row), ["token:\(id)"])
        }
    }

    // MARK: Audit and housekeeping

    public func auditEntries(after: Int64, limit: Int) async throws -> [AuditEntry] {
        try await read { tx in
            try await tx.rows("SELECT seq, at_ms, actor, method, records FROM audit WHERE seq > \(Int(after)) ORDER BY seq LIMIT \(limit)").map { row in
                AuditEntry(
                    sequence: Int64(try row.int(0)), at: Date(millisecondsSince1970: Int64(try row.int(1))), actor: try row.optionalText(2),
                    method: try row.text(3), records: StoreRules.auditRecords(try row.text(4)))
            }
        }
    }

    public func storedReply(for context: MutationContext) async throws -> [UInt8]? {
        guard let key = context.idempotencyKey else { return nil }
        let actor = context.actor ?? ""
        return try await transaction { tx in
            guard let row = try await tx.row("SELECT method, request_digest, reply FROM idempotency WHERE actor = \(actor) AND key = \(key)") else {
                return nil
            }
            return try StoreRules.replay(storedMethod: try row.text(0), storedDigest: try row.bytes(1), reply: try row.bytes(2), context: context)
        }
    }

    public func purgeIdempotencyKeys(before date: Date) async throws -> Int {
        try await transaction { tx in
            try await tx.row(
                """
                WITH gone AS (DELETE FROM idempotency WHERE created_at_ms < \(date.millisecondsSince1970) RETURNING 1)
                SELECT count(*) FROM gone
                """)?.int(0) ?? 0
        }
    }

    public func recordRead(actor: String?, method: String, records: [String], at date: Date) async throws {
        try await transaction { tx in
            try await tx.run(
                "INSERT INTO audit (at_ms, actor, method, records) VALUES (\(date.millisecondsSince1970), \(actor), \(method), \(records.joined(separator: ",")))"
            )
        }
    }
}

/// Where a PostgreSQL store is: `postgres://USER@HOST:PORT/DATABASE` (a password in the URL is
/// refused: it would end up in shell history and process lists). `?sslmode=require` asks for TLS.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var requireTLS: Bool

    public init(user: String, host: String, port: Int, database: String, requireTLS: Bool = false) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.requireTLS = requireTLS
    }

    /// Parses the URL; the error says what is wrong with it.
    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text), components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw SchedulerError(.invalidArgument, "the store must be postgres://USER@HOST:PORT/DATABASE", field: "store")
        }
        guard components.password == nil else {
            throw SchedulerError(
                .invalidArgument, "put the password in SOSCHED_PG_PASSWORD or a file (--store-password-file), not in the URL", field: "store")
        }
        guard let user = components.user, !user.isEmpty else {
            throw SchedulerError(.invalidArgument, "the store URL needs a user: postgres://USER@HOST:PORT/DATABASE", field: "store")
        }
        guard let host = components.host, !host.isEmpty else {
            throw SchedulerError(.invalidArgument, "the store URL needs a host: postgres://USER@HOST:PORT/DATABASE", field: "store")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw SchedulerError(.invalidArgument, "the store URL needs a database: postgres://USER@HOST:PORT/DATABASE", field: "store")
        }
        let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        guard sslmode == "disable" || sslmode == "require" else {
            throw SchedulerError(.invalidArgument, "sslmode must be disable or require", field: "store")
        }
        self.init(user: user, host: host, port: components.port ?? 5432, database: database, requireTLS: sslmode == "require")
    }

    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)\(requireTLS ? "?sslmode=require" : "")" }
}

/// One connection inside one transaction, and the ledgers to cache once it commits.
final class PostgresTransaction {
    let connection: PostgresConnection
    let logger: Logger
    /// Every statement sees one snapshot (REPEATABLE READ): a version and the rows read after it agree.
    let snapshot: Bool
    /// Ledgers this transaction built or changed, cached (at their new versions) after the commit.
    var ledgersAfterCommit: [(group: String, version: Int64, ledger: CapacityLedger)] = []

    init(connection: PostgresConnection, logger: Logger, snapshot: Bool) {
        self.connection = connection
        self.logger = logger
        self.snapshot = snapshot
    }

    func run(_ query: PostgresQuery) async throws {
        let rows = try await connection.query(query, logger: logger)
        for try await _ in rows {}
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        var result: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) { result.append(row.makeRandomAccess()) }
        return result
    }

    func row(_ query: PostgresQuery) async throws -> PostgresRandomAccessRow? {
        try await rows(query).first
    }
}

extension PostgresRandomAccessRow {
    func text(_ index: Int) throws -> String { try self[index].decode(String.self) }
    func optionalText(_ index: Int) throws -> String? { try self[index].decode(String?.self) }
    func int(_ index: Int) throws -> Int { try self[index].decode(Int.self) }
    func optionalInt(_ index: Int) throws -> Int? { try self[index].decode(Int?.self) }
    func bool(_ index: Int) throws -> Bool { try self[index].decode(Bool.self) }
    func bytes(_ index: Int) throws -> [UInt8] { Array(try self[index].decode(Data.self)) }
}
