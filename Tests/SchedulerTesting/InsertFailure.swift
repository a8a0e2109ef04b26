import Foundation
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
            try await StoreDatabase.execute(
                [
                    """
                    CREATE TRIGGER \(name) BEFORE INSERT ON \(table) WHEN (SELECT count(*) FROM \(table)) >= \(rows)
                    BEGIN SELECT RAISE(ABORT, '\(message)'); END
                    """
                ], on: store)
        default:
            try await StoreDatabase.execute(
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
            try await StoreDatabase.execute(["DROP TRIGGER IF EXISTS \(name)"], on: store)
        default:
            try await StoreDatabase.execute(["DROP TRIGGER IF EXISTS \(name) ON \(table)", "DROP FUNCTION IF EXISTS \(name)()"], on: store)
        }
    }
}
