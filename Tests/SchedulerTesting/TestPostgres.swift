import Foundation
import Logging
import PostgresNIO
import SchedulerCore
import SchedulerStore

/// The PostgreSQL server of a test run. `Scripts/test` starts one in a temporary directory and
/// names it in `SOSCHED_TEST_POSTGRES` (and its password in `SOSCHED_TEST_POSTGRES_PASSWORD`);
/// without it every PostgreSQL test fails, saying so, rather than being skipped.
public enum TestPostgres {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            "no PostgreSQL server for the tests: SOSCHED_TEST_POSTGRES is not set. Run Scripts/test, which starts one."
        }
    }

    /// The server's maintenance database and the password.
    public static func server() throws -> (location: PostgresLocation, password: String?) {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["SOSCHED_TEST_POSTGRES"], !url.isEmpty else { throw NotConfigured() }
        return (try PostgresLocation(parsing: url), environment["SOSCHED_TEST_POSTGRES_PASSWORD"])
    }

    /// A database of its own for the data under `directory` (a test's temporary directory),
    /// created the first time: opening the same directory again reopens the same database.
    public static func database(for directory: URL) async throws -> (location: PostgresLocation, password: String?) {
        let (server, password) = try server()
        let name = "t_" + directory.lastPathComponent.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
        var location = server
        location.database = String(name.prefix(63))
        let configuration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: server.user, password: password, database: server.database, tls: .disable)
        let logger = Logger(label: "sosched.test.postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let exists =
                try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(location.database)", logger: logger)
                .collect().count > 0
            if !exists {
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(location.database)\""), logger: logger)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P04" {
                    // Created meanwhile by another open of the same directory.
                }
            }
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        return (location, password)
    }

    /// Runs `sql` on the database of `directory` as the server's superuser, outside any store;
    /// returns each row's columns as text (select bytes as `encode(col, 'hex')`).
    public static func execute(_ sql: String, for directory: URL) async throws -> [[String?]] {
        let (location, password) = try await database(for: directory)
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database, tls: .disable)
        let logger = Logger(label: "sosched.test.postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        do {
            var result: [[String?]] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                result.append(try row.map { try $0.decode(String?.self) })
            }
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A transaction of its own on the database of `directory` that has run `sql` (say, a
    /// `SELECT … FOR UPDATE`) and holds its locks until `release()`.
    public final class HeldLocks: Sendable {
        let connection: PostgresConnection

        init(connection: PostgresConnection) { self.connection = connection }

        /// Rolls the transaction back and closes the connection.
        public func release() async throws {
            let logger = Logger(label: "sosched.test.postgres")
            _ = try? await connection.query("ROLLBACK", logger: logger).collect()
            try await connection.close()
        }
    }

    public static func holdLocks(_ sql: String, for directory: URL) async throws -> HeldLocks {
        let (location, password) = try await database(for: directory)
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database, tls: .disable)
        let logger = Logger(label: "sosched.test.postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 3, logger: logger)
        do {
            _ = try await connection.query("BEGIN", logger: logger).collect()
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
            return HeldLocks(connection: connection)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Opens (creating if needed) the PostgreSQL store for `directory` and runs `body` on it with
    /// its connection pool running; then stops the pool and closes the store.
    public static func withStore<T>(
        for directory: URL, maxConnections: Int = 8, statementTimeout: Duration = .seconds(30), lockTimeout: Duration = .seconds(10),
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = try await openStore(for: directory, maxConnections: maxConnections, statementTimeout: statementTimeout, lockTimeout: lockTimeout)
        return try await StoreKind.run(store, body)
    }

    /// Opens (creating if needed) the PostgreSQL store for `directory`; its pool runs in
    /// `withRunningServices` (or use `withStore`).
    public static func openStore(
        for directory: URL, maxConnections: Int = 8, statementTimeout: Duration = .seconds(30), lockTimeout: Duration = .seconds(10)
    ) async throws -> PostgresStore {
        let (location, password) = try await database(for: directory)
        return try await PostgresStore(
            location: location, password: password, maxConnections: maxConnections, statementTimeout: statementTimeout, lockTimeout: lockTimeout)
    }
}
