import Foundation
import GRDB
import SchedulerCore
import ServiceLifecycle
import Synchronization

/// The embedded default store: one SQLite file in WAL mode with `synchronous=FULL`, so every
/// acknowledged change is on disk. Writes are serialized by SQLite; reads run in parallel.
public final class SQLiteStore: Store {
    public let kind = "sqlite"
    /// None: SQLite runs in the calls that use it.
    public let services: [any Service] = []
    public let path: String
    let pool: DatabasePool
    let writer: WriteBatcher
    let ledgerCache = LedgerCache()
    private let tokenLookupCount = Atomic<Int>(0)

    /// How many times `activeToken(secret:)` has read the store (for checks of the server's token caches).
    public var tokenLookups: Int { tokenLookupCount.load(ordering: .relaxed) }

    /// Opens (creating if needed) the store in `directory` and applies pending migrations.
    ///
    /// A new directory is made with mode 700 and a new database file with mode 600, each in the
    /// one call that creates it: the children's records are never readable by others, not even
    /// for a moment. SQLite gives its `-wal` and `-shm` files the database file's mode.
    public init(directory: URL) throws {
        try Self.makePrivateDirectory(directory)
        self.path = directory.appendingPathComponent("sosched.sqlite").path
        try Self.makePrivateFile(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.run(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        writer = WriteBatcher(pool: pool)
    }

    /// Creates `directory` (mode 700; missing parents get the usual mode) unless it exists.
    static func makePrivateDirectory(_ directory: URL) throws {
        let parent = directory.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: parent.path) {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        }
        guard mkdir(directory.path, 0o700) == 0 || errno == EEXIST else {
            throw SchedulerError(.unavailable, "cannot create the store directory \(directory.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Creates the file at `path` with mode 600 unless it exists (an existing file keeps its mode).
    static func makePrivateFile(_ path: String) throws {
        guard createPrivateFile(path) else {
            throw SchedulerError(.unavailable, "cannot create the store file \(path): \(String(cString: strerror(errno)))")
        }
    }

    // MARK: Errors

    /// Runs `body` on a reader of the pool.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch { throw Self.schedulerError(error) }
    }

    /// Runs `work` in the next group commit (`WriteBatcher`).
    func write<T: Sendable>(_ work: @escaping @Sendable (Database, WriteBatcher.Batch) throws -> T) async throws -> T {
        do { return try await writer.submit(work) } catch { throw Self.schedulerError(error) }
    }

    /// Runs `work` in a write transaction of its own (outside group commit: imports, housekeeping).
    func writeAlone<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.write(work) } catch { throw Self.schedulerError(error) }
    }

    /// What a client is told when SQLite fails (`StoreFailure` holds the table both stores
    /// share): a broken constraint is FAILED_PRECONDITION naming it, a file locked by another
    /// process past the busy timeout or a disk that cannot be written UNAVAILABLE, a damaged file
    /// DATA_LOSS. SQLite's constraint messages name tables, columns and constraints, never values;
    /// the SQL and its arguments are never passed on.
    static func schedulerError(_ error: any Error) -> any Error {
        failure(error)?.error ?? error
    }

    /// The kind of failure an error of SQLite (GRDB) is; nil for errors that are not the database's.
    static func failure(_ error: any Error) -> StoreFailure? {
        switch error {
        case let error as DatabaseError: failure(error.resultCode, message: error.message)
        case is RowDecodingError:
            StoreFailure(
                kind: .unreadable, message: "the SQLite store holds a value that cannot be read as what its column should hold; a row was changed by hand")
        case is CancellationError: .cancelledCall
        default: nil
        }
    }

    static func failure(_ code: ResultCode, message: String?) -> StoreFailure {
        switch code.primaryResultCode {
        case .SQLITE_CONSTRAINT:
            StoreFailure(kind: .conflict, message: "the change conflicts with the stored records (constraint: \(message ?? "unknown"))")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            StoreFailure(kind: .locked, message: "the SQLite store is locked by another connection or process for longer than its busy timeout; try again")
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PROTOCOL, .SQLITE_NOMEM, .SQLITE_NOLFS:
            StoreFailure(
                kind: .resources, message: "the SQLite store cannot use its file (\(Self.name(code))): check the disk and the file's permissions; try again")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            StoreFailure(kind: .damaged, message: "the SQLite store's file is damaged (\(Self.name(code))); restore it from a backup")
        case .SQLITE_TOOBIG, .SQLITE_MISMATCH:
            StoreFailure(kind: .invalidValue, message: "a value is too big to store or of the wrong type")
        case .SQLITE_INTERRUPT:
            .cancelledCall
        default:
            StoreFailure(kind: .bug, message: "the SQLite store failed (\(Self.name(code)))")
        }
    }

    private static func name(_ code: ResultCode) -> String { "SQLite error \(code.rawValue)" }

    /// The versioned schema. Append new migrations; never edit a released one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-access") { db in
            try db.execute(
                sql: """
                    CREATE TABLE token (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        hash BLOB NOT NULL UNIQUE,
                        role TEXT NOT NULL,
                        scope TEXT,
                        name TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        created_by TEXT,
                        revoked_at_ms INTEGER
                    );
                    CREATE TABLE audit (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        at_ms INTEGER NOT NULL,
                        actor TEXT,
                        method TEXT NOT NULL,
                        records TEXT NOT NULL
                    );
                    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TABLE idempotency (
                        actor TEXT NOT NULL,
                        key TEXT NOT NULL,
                        method TEXT NOT NULL,
                        request_digest BLOB NOT NULL,
                        reply BLOB NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (actor, key)
                    );
                    CREATE INDEX idempotency_created ON idempotency(created_at_ms);
                    """)
        }
        registerNurseryMigrations(&migrator)
        registerIntakeMigrations(&migrator)
        registerLedgerVersionTriggers(&migrator)
        registerCounsellingMigrations(&migrator)
        registerMentoringMigrations(&migrator)
        return migrator
    }

    /// The names of the migrations applied to the file, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    /// A pragma's value on a pooled connection, for checks (`synchronous`, `journal_mode`).
    public func pragma(_ name: String) throws -> String? {
        guard name.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        return try pool.read { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    // MARK: Mutations

    /// Runs `change` in one write transaction (shared with other writers: group commit) together
    /// with the idempotency check, the audit entry and the stored reply; `beforeCommit` runs last,
    /// so a late call commits nothing.
    func mutate<Value: Sendable>(
        _ context: MutationContext,
        reply: @escaping @Sendable (Value) throws -> [UInt8],
        _ change: @escaping @Sendable (Database, WriteBatcher.Batch) throws -> (Value, records: [String])
    ) async throws -> Mutated<Value> {
        try await write { db, batch in
            guard context.isWanted() else {
                throw StoreRules.cancelledBeforeItsTurn()
            }
            let actor = context.actor ?? ""
            if let key = context.idempotencyKey,
                let row = try db.row(
                    sql: "SELECT method, request_digest, reply FROM idempotency WHERE actor = ? AND key = ?",
                    arguments: [actor, key])
            {
                let row = StoredRow(row, "idempotency")
                let digest: Data = try row["request_digest"], stored: Data = try row["reply"]
                return .replayed(
                    reply: try StoreRules.replay(
                        storedMethod: row["method"], storedDigest: Array(digest), reply: Array(stored), context: context))
            }
            let (value, records) = try change(db, batch)
            let bytes = try reply(value)
            let now = context.now.millisecondsSince1970
            try db.run(
                sql: "INSERT INTO audit (at_ms, actor, method, records) VALUES (?, ?, ?, ?)",
                arguments: [now, context.actor, context.method, records.joined(separator: ",")])
            if let key = context.idempotencyKey {
                try db.run(
                    sql: """
                        INSERT INTO idempotency (actor, key, method, request_digest, reply, created_at_ms)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [actor, key, context.method, Data(context.requestDigest), Data(bytes), now])
            }
            try context.beforeCommit()
            return .applied(value, reply: bytes)
        }
    }

    // MARK: Tokens

    private static let tokenColumns = "seq, id, role, scope, name, created_at_ms, created_by, revoked_at_ms"

    private static func token(from row: Row) throws -> AccessToken {
        let row = StoredRow(row, "token")
        return try StoreRules.token(
            id: row["id"], role: row["role"], scope: row["scope"], name: row["name"], createdAtMS: row["created_at_ms"],
            createdBy: row["created_by"], revokedAtMS: row["revoked_at_ms"])
    }

    public func activeToken(secret: String) async throws -> AccessToken? {
        tokenLookupCount.add(1, ordering: .relaxed)
        let hash = Data(TokenSecret.hash(secret))
        return try await read { db in
            try db.row(
                sql: "SELECT \(Self.tokenColumns) FROM token WHERE hash = ? AND revoked_at_ms IS NULL",
                arguments: [hash]
            ).map(Self.token(from:))
        }
    }

    public func listTokens(includeRevoked: Bool, after: Int64?, limit: Int) async throws -> (tokens: [AccessToken], next: Int64?) {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.tokenColumns) FROM token
                    WHERE seq > ? AND (? OR revoked_at_ms IS NULL)
                    ORDER BY seq LIMIT ?
                    """,
                arguments: [after ?? 0, includeRevoked, limit + 1])
            let page = rows.prefix(limit)
            let next: Int64? = rows.count > limit ? try page.last.map { try StoredRow($0, "token")["seq"] } : nil
            return (try page.map(Self.token(from:)), next)
        }
    }

    public func createToken(
        role: Role, scope: Scope?, name: String, context: MutationContext,
        reply: @escaping @Sendable (IssuedToken) throws -> [UInt8]
    ) async throws -> Mutated<IssuedToken> {
        try role.validate(scope: scope)
        return try await mutate(context, reply: reply) { db, _ in
            if let scope, let table = StoreRules.scopeTable(scope),
                try db.int(sql: "SELECT 1 FROM \(table) WHERE id = ?", arguments: [scope.id]) == nil
            {
                throw StoreRules.scopeTargetMissing(scope)
            }
            let token = AccessToken(
                id: RecordID.make("tok"), role: role, scope: scope, name: name,
                createdAt: context.now, createdBy: context.actor, revokedAt: nil)
            let secret = TokenSecret.make()
            try db.run(
                sql: """
                    INSERT INTO token (id, hash, role, scope, name, created_at_ms, created_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.id, Data(TokenSecret.hash(secret)), role.rawValue, scope?.description, name,
                    token.createdAt.millisecondsSince1970, token.createdBy,
                ])
            return (IssuedToken(token: token, secret: secret), ["token:\(token.id)"])
        }
    }

    public func revokeToken(
        id: String, context: MutationContext, reply: @escaping @Sendable (AccessToken) throws -> [UInt8]
    ) async throws -> Mutated<AccessToken> {
        try await mutate(context, reply: reply) { db, _ in
            try db.run(
                sql: "UPDATE token SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL",
                arguments: [context.now.millisecondsSince1970, id])
            guard let row = try db.row(sql: "SELECT \(Self.tokenColumns) FROM token WHERE id = ?", arguments: [id])
            else { throw SchedulerError(.notFound, "no token with id \(id)", field: "id") }
            return (try Self.token(from: row), ["token:\(id)"])
        }
    }

    /// Refuses to create what `scope` names while an active token already names it (see `StoreRules.scopeNamedByToken`).
    static func checkScopeUnclaimed(_ db: Database, _ scope: Scope, field: String) throws {
        if let tokenID = try String.fetchOne(
            db.cachedStatement(sql: "SELECT id FROM token WHERE scope = ? AND revoked_at_ms IS NULL ORDER BY seq LIMIT 1"),
            arguments: [scope.description])
        {
            throw StoreRules.scopeNamedByToken(scope, tokenID: tokenID, field: field)
        }
    }

    // MARK: Audit and housekeeping

    public func auditEntries(after: Int64, limit: Int) async throws -> [AuditEntry] {
        try await read { db in
            try db.rows(
                sql: "SELECT seq, at_ms, actor, method, records FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [after, limit]
            ).map { row in
                let row = StoredRow(row, "audit")
                return try AuditEntry(
                    sequence: row["seq"], at: Date(millisecondsSince1970: row["at_ms"]), actor: row["actor"],
                    method: row["method"], records: StoreRules.auditRecords(row["records"]))
            }
        }
    }

    public func storedReply(for context: MutationContext) async throws -> [UInt8]? {
        guard let key = context.idempotencyKey else { return nil }
        return try await read { db in
            guard
                let row = try db.row(
                    sql: "SELECT method, request_digest, reply FROM idempotency WHERE actor = ? AND key = ?", arguments: [context.actor ?? "", key])
            else { return nil }
            let stored = StoredRow(row, "idempotency")
            let digest: Data = try stored["request_digest"], reply: Data = try stored["reply"]
            return try StoreRules.replay(storedMethod: stored["method"], storedDigest: Array(digest), reply: Array(reply), context: context)
        }
    }

    public func purgeIdempotencyKeys(before date: Date) async throws -> Int {
        try await writeAlone { db in
            try db.run(sql: "DELETE FROM idempotency WHERE created_at_ms < ?", arguments: [date.millisecondsSince1970])
            return db.changesCount
        }
    }

    public func close() async throws {
        try pool.close()
    }
}

/// Opens (creating with mode 600, whatever the umask) and closes `path`; false on failure (see `errno`).
private func createPrivateFile(_ path: String) -> Bool {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { return false }
    close(descriptor)
    return true
}
