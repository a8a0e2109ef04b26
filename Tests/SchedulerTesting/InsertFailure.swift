import Foundation
import GRDB
import Logging
import PostgresNIO
import SchedulerStore

/// A failure of the database itself, injected in the middle of a write: a real trigger on the
/// store's database refuses every insert into a table once the table holds `rows` rows, so a
/// write that inserts many rows fails part way (SQLite `RAISE(ABORT)`, a constraint failure;
/// PostgreSQL `RAISE EXCEPTION`, SQLSTATE P0001). Installed from outside the store, as an
/// operator's `sqlite3` or `psql` would: on the store's SQLite file, or on its PostgreSQL
/// database as the test server's user. The store (or a server over it) needs no restart: SQLite
/// recompiles statements when the schema changes, PostgreSQL fires the trigger at once.
///
/// ```swift
/// let failure = try await InsertFailure.install(on: store, table: "mentor_session", whenRowsReach: 5)
/// // ... a batch of 20 sessions fails at its sixth ...
/// try await failure.remove()
/// ```
public struct InsertFailure: Sendable {
    public let store: any Store
    public let table: String

    /// The message the trigger fails with.
    public static let message = "injected failure"

    var name: String { "sosched_test_fail_\(table)" }

    /// Installs the trigger on `store`'s database (a SQLite or PostgreSQL store): from now on an
    /// insert into `table` fails while the table holds `rows` rows or more.
    public static func install(on store: any Store, table: String, whenRowsReach rows: Int) async throws -> InsertFailure {
        guard !table.isEmpty, table.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw TestFailure("not a table name: \(table)")
        }
        let failure = InsertFailure(store: store, table: table)
        let name = failure.name
        switch store {
        case is SQLiteStore:
            try await execute(
                [
                    """
                    CREATE TRIGGER \(name) BEFORE INSERT ON \(table) WHEN (SELECT count(*) FROM \(table)) >= \(rows)
                    BEGIN SELECT RAISE(ABORT, '\(message)'); END
                    """
                ], on: store)
        default:
            try await execute(
                [
                    """
                    CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF (SELECT count(*) FROM \(table)) >= \(rows) THEN RAISE EXCEPTION '\(message)'; END IF;
                        RETURN NEW;
                    END $$
                    """,
                    "CREATE TRIGGER \(name) BEFORE INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION \(name)()",
                ], on: store)
        }
        return failure
    }

    /// Drops the trigger: inserts into the table work again.
    public func remove() async throws {
        switch store {
        case is SQLiteStore:
            try await Self.execute(["DROP TRIGGER IF EXISTS \(name)"], on: store)
        default:
            try await Self.execute(["DROP TRIGGER IF EXISTS \(name) ON \(table)", "DROP FUNCTION IF EXISTS \(name)()"], on: store)
        }
    }

    /// Runs `statements` in order on `store`'s database from outside the store.
    public static func execute(_ statements: [String], on store: any Store) async throws {
        switch store {
        case let sqlite as SQLiteStore:
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            let queue = try DatabaseQueue(path: sqlite.path, configuration: configuration)
            do {
                try await queue.write { db in
                    for statement in statements { try db.execute(sql: statement) }
                }
                try queue.close()
            } catch {
                try? queue.close()
                throw error
            }
        case let postgres as PostgresStore:
            let location = postgres.location
            let password = try TestPostgres.server().password
            let configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: password, database: location.database, tls: .disable)
            let logger = Logger(label: "sosched.test.postgres")
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 4, logger: logger)
            do {
                for statement in statements { _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect() }
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        default:
            throw TestFailure("no way to reach the database of a \(store.kind) store")
        }
    }
}
