import SchedulerCore

/// What went wrong in a database, in terms both stores share: each store sorts its own errors
/// (SQLite result codes, PostgreSQL SQLSTATEs) into these kinds, and `codes`, the one table,
/// decides the status a client gets, so a client cannot tell the stores apart by their failures.
/// The message is the store's (it may name a constraint, never a value or the SQL).
///
/// | kind | SQLite | PostgreSQL | status |
/// | --- | --- | --- | --- |
/// | conflict | CONSTRAINT | class 23 | FAILED_PRECONDITION |
/// | invalidValue | TOOBIG, MISMATCH | class 22, 54000 | INVALID_ARGUMENT |
/// | locked | BUSY, LOCKED (past the busy timeout) | 55P03 (past the lock timeout) | UNAVAILABLE |
/// | statementTimeout | (none: no statement timeout) | 57014 | DEADLINE_EXCEEDED |
/// | cancelled | INTERRUPT, `CancellationError` | `CancellationError` | CANCELLED |
/// | unreadable | `RowDecodingError` | `PostgresDecodingError` | DATA_LOSS |
/// | damaged | CORRUPT, NOTADB | XX001, XX002 | DATA_LOSS |
/// | resources | FULL, IOERR, CANTOPEN, READONLY, PROTOCOL, NOMEM, NOLFS | classes 53, 58, 42501 | UNAVAILABLE |
/// | unavailable | (none: SQLite is in the process) | any other state; no connection | UNAVAILABLE |
/// | bug | any other code (ERROR, MISUSE, ...) | class 42 but 42501, XX000 | INTERNAL |
struct StoreFailure: Sendable, Hashable {
    enum Kind: Sendable, Hashable, CaseIterable {
        case conflict, invalidValue, locked, statementTimeout, cancelled, unreadable, damaged, resources, unavailable, bug
    }

    /// The status of each kind, for both stores.
    static let codes: [Kind: SchedulerError.Code] = [
        .conflict: .failedPrecondition, .invalidValue: .invalidArgument, .locked: .unavailable, .statementTimeout: .deadlineExceeded,
        .cancelled: .cancelled, .unreadable: .dataLoss, .damaged: .dataLoss, .resources: .unavailable, .unavailable: .unavailable, .bug: .internal,
    ]

    var kind: Kind
    var message: String

    var error: SchedulerError { SchedulerError(Self.codes[kind] ?? .internal, message) }

    static let cancelledCall = StoreFailure(kind: .cancelled, message: "the call was cancelled")
}
