import GRDB
import Logging
import SchedulerCore
import Testing

@testable import SchedulerStore

/// Both stores sort their database's errors into `StoreFailure` kinds and take the status from
/// one table: a case per mapped SQLite result code and PostgreSQL SQLSTATE, and the two agree
/// kind for kind.
struct StoreFailureTests {
    static let sqlite: [(ResultCode, StoreFailure.Kind)] = [
        (.SQLITE_CONSTRAINT, .conflict), (.SQLITE_CONSTRAINT_UNIQUE, .conflict), (.SQLITE_CONSTRAINT_FOREIGNKEY, .conflict),
        (.SQLITE_TOOBIG, .invalidValue), (.SQLITE_MISMATCH, .invalidValue),
        (.SQLITE_BUSY, .locked), (.SQLITE_LOCKED, .locked),
        (.SQLITE_INTERRUPT, .cancelled),
        (.SQLITE_CORRUPT, .damaged), (.SQLITE_NOTADB, .damaged),
        (.SQLITE_FULL, .resources), (.SQLITE_IOERR, .resources), (.SQLITE_IOERR_WRITE, .resources), (.SQLITE_CANTOPEN, .resources),
        (.SQLITE_READONLY, .resources), (.SQLITE_PROTOCOL, .resources), (.SQLITE_NOMEM, .resources), (.SQLITE_NOLFS, .resources),
        (.SQLITE_ERROR, .bug), (.SQLITE_MISUSE, .bug), (.SQLITE_SCHEMA, .bug),
    ]

    static let postgres: [(String, StoreFailure.Kind)] = [
        ("23505", .conflict), ("23503", .conflict), ("23514", .conflict),
        ("22021", .invalidValue), ("22003", .invalidValue), ("54000", .invalidValue),
        ("55P03", .locked),
        ("57014", .statementTimeout),
        ("XX001", .damaged), ("XX002", .damaged),
        ("53100", .resources), ("53300", .resources), ("58030", .resources), ("42501", .resources),
        ("08006", .unavailable), ("57P01", .unavailable), ("40001", .unavailable), ("40P01", .unavailable), ("", .unavailable),
        ("42601", .bug), ("42P01", .bug), ("XX000", .bug),
    ]

    @Test(arguments: sqlite.map(\.0.rawValue))
    func sqliteResultCodes(code: Int32) {
        let code = ResultCode(rawValue: code)
        let expected = Self.sqlite.first { $0.0 == code }?.1
        let failure = SQLiteStore.failure(code, message: "UNIQUE constraint failed: site.name")
        #expect(failure.kind == expected)
        // Through the store's mapping of a GRDB error, to the status of the table.
        let error = SQLiteStore.schedulerError(DatabaseError(resultCode: code, message: "UNIQUE constraint failed: site.name")) as? SchedulerError
        #expect(error?.code == expected.flatMap { StoreFailure.codes[$0] })
    }

    @Test(arguments: postgres.map(\.0))
    func postgresStates(state: String) {
        let expected = Self.postgres.first { $0.0 == state }?.1
        let failure = PostgresStore.failure(sqlState: state, message: "m", constraint: "site_name_unique", code: "server")
        #expect(failure.kind == expected)
        #expect(failure.error.code == expected.flatMap { StoreFailure.codes[$0] })
    }

    @Test func theTableHasAStatusForEveryKindAndBothStoresUseItTheSameWay() throws {
        for kind in StoreFailure.Kind.allCases { #expect(StoreFailure.codes[kind] != nil, "\(kind)") }
        #expect(StoreFailure.codes[.conflict] == .failedPrecondition)
        #expect(StoreFailure.codes[.invalidValue] == .invalidArgument)
        #expect(StoreFailure.codes[.locked] == .unavailable)
        #expect(StoreFailure.codes[.statementTimeout] == .deadlineExceeded)
        #expect(StoreFailure.codes[.cancelled] == .cancelled)
        #expect(StoreFailure.codes[.unreadable] == .dataLoss)
        #expect(StoreFailure.codes[.damaged] == .dataLoss)
        #expect(StoreFailure.codes[.resources] == .unavailable)
        #expect(StoreFailure.codes[.unavailable] == .unavailable)
        #expect(StoreFailure.codes[.bug] == .internal)
        // Every kind SQLite can report, PostgreSQL reports too (SQLite has no statement timeout and no outages of its own;
        // PostgreSQL's cancellation is a `CancellationError`, checked below).
        let fromSQLite = Set(Self.sqlite.map(\.1)), fromPostgres = Set(Self.postgres.map(\.1))
        #expect(fromSQLite.subtracting(fromPostgres) == [.cancelled])
        // The errors that are not the database's own.
        let logger = Logger(label: "test")
        #expect((SQLiteStore.schedulerError(CancellationError()) as? SchedulerError)?.code == .cancelled)
        #expect((PostgresStore.schedulerError(CancellationError(), logger: logger) as? SchedulerError)?.code == .cancelled)
        let refused = BookingRefused(groupID: "g", conflicts: [], alternatives: [])
        #expect(SQLiteStore.schedulerError(refused) is BookingRefused)
        #expect(PostgresStore.schedulerError(refused, logger: logger) is BookingRefused)
        #expect((SQLiteStore.schedulerError(SchedulerError(.notFound, "x")) as? SchedulerError)?.code == .notFound)
    }

    @Test func messagesNameTheConstraintButNoValue() {
        let sqlite = SQLiteStore.failure(.SQLITE_CONSTRAINT_UNIQUE, message: "UNIQUE constraint failed: site.name")
        #expect(sqlite.message.contains("site.name"))
        let postgres = PostgresStore.failure(
            sqlState: "23505", message: "duplicate key value violates unique constraint", constraint: "site_name_unique", code: "server")
        #expect(postgres.message.contains("site_name_unique"))
        #expect(PostgresStore.failure(sqlState: "55P03", message: nil, constraint: nil, code: "server").message.contains("--store-lock-timeout"))
        #expect(PostgresStore.failure(sqlState: "57014", message: nil, constraint: nil, code: "server").message.contains("--store-statement-timeout"))
    }
}
