import Foundation
import GRDB
import Logging
import PostgresNIO
import SchedulerStore

/// A store's own database reached from outside the store, as an operator's `sqlite3` or `psql`
/// would: the SQLite store's file through a connection of its own, the PostgreSQL store's
/// database as the test server's user (`TestPostgres`). For changes by hand, triggers and other
/// faults a test puts under a running store or server (`InsertFailure`).
public enum StoreDatabase {
    /// Runs `statements` in order on `store`'s database (one transaction on SQLite; one
    /// statement at a time on PostgreSQL).
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
