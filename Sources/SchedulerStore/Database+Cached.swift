import GRDB

/// Statements on the hot paths go through SQLite's prepared-statement cache: parsing the SQL
/// again for every booking cost more than running it.
extension Database {
    func run(sql: String, arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    func row(sql: String, arguments: StatementArguments = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func rows(sql: String, arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    func int(sql: String, arguments: StatementArguments = []) throws -> Int? {
        try Int.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    /// Each row turned into a value as it is read, with no copy of the row (`rows` copies
    /// every row's values first): for reads of tens of thousands of rows. `transform` must not
    /// keep the row.
    func values<T>(sql: String, arguments: StatementArguments = [], _ transform: (Row) throws -> T) throws -> [T] {
        let cursor = try Row.fetchCursor(cachedStatement(sql: sql), arguments: arguments)
        var values: [T] = []
        while let row = try cursor.next() { values.append(try transform(row)) }
        return values
    }
}

extension Array {
    /// The array in consecutive slices of at most `size` elements (for statements with a bounded
    /// number of parameters).
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { self[$0..<Swift.min(count, $0 + size)] }
    }
}
