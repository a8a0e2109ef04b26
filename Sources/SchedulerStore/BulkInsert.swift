import GRDB
internal import GRDBSQLite

/// One prepared statement run for many rows, each row's values bound by position through
/// SQLite's C API. GRDB's `StatementArguments` box every value (an existential each, then a
/// `DatabaseValue`), which for a mentor batch's 20,000 sessions cost a third of the save, more
/// than SQLite's own inserts; here the values go straight from Swift's strings and integers to
/// `sqlite3_bind_*`. Values are still bound, never pasted into the SQL.
struct BulkInsert {
    let db: Database
    let statement: Statement

    /// Prepares `sql` (not from the statement cache: the statement is this value's alone).
    init(_ db: Database, sql: String) throws {
        self.db = db
        self.statement = try db.makeStatement(sql: sql)
    }

    /// The values of one row, in the order of the statement's parameters.
    struct Row {
        fileprivate let handle: OpaquePointer
        fileprivate let db: Database
        fileprivate var index: Int32 = 0

        mutating func text(_ value: String) throws {
            index += 1
            var value = value
            let handle = handle, index = index
            let code = value.withUTF8 { bytes -> Int32 in
                guard let count = Int32(exactly: bytes.count) else { return SQLITE_TOOBIG }
                // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
                let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
                guard let base = bytes.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, transient) }
                return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { sqlite3_bind_text(handle, index, $0, count, transient) }
            }
            try check(code)
        }

        mutating func int(_ value: Int) throws {
            index += 1
            try check(sqlite3_bind_int64(handle, index, Int64(value)))
        }

        private func check(_ code: Int32) throws {
            guard code == SQLITE_OK else { throw BulkInsert.error(code, db) }
        }
    }

    /// Runs the statement once with the values `bind` gives; returns the rows it changed (0 for
    /// a row an `ON CONFLICT DO NOTHING` skipped).
    func run(_ bind: (inout Row) throws -> Void) throws -> Int {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var row = Row(handle: handle, db: db)
        try bind(&row)
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let error = Self.error(code, db)
            sqlite3_reset(handle)
            throw error
        }
        return db.changesCount
    }

    /// SQLite's failure as GRDB reports one, so the store maps it as any other
    /// (`SQLiteStore.schedulerError`).
    fileprivate static func error(_ code: Int32, _ db: Database) -> DatabaseError {
        let message = db.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
    }
}
