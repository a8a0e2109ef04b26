import GRDB

/// A SQLite row of one table, read column by column with checks. GRDB's own subscripts stop the
/// process when a value cannot be converted (a text where a number should be, a NULL written by
/// hand); these throw DATA_LOSS naming the column instead.
struct StoredRow {
    let row: Row
    let table: String

    init(_ row: Row, _ table: String) {
        self.row = row
        self.table = table
    }

    subscript<Value: DatabaseValueConvertible>(_ column: String) -> Value {
        get throws {
            do {
                return try row.decode(Value.self, forColumn: column)
            } catch {
                throw StoreRules.unreadable("\(table).\(column)", "not \(Value.self)")
            }
        }
    }

    /// The column at `index` of the statement's column list; `column` names it in errors
    /// (`table.column` for a column of another table in a join).
    subscript<Value: DatabaseValueConvertible>(_ index: Int, _ column: String) -> Value {
        get throws {
            do {
                return try row.decode(Value.self, atIndex: index)
            } catch {
                throw StoreRules.unreadable(column.contains(".") ? column : "\(table).\(column)", "not \(Value.self)")
            }
        }
    }

    /// An integer column, checked against its range (`StoreRules.storedRanges`).
    func int(_ column: String) throws -> Int {
        try StoreRules.stored(try self[column], "\(table).\(column)")
    }

    func optionalInt(_ column: String) throws -> Int? {
        let value: Int? = try self[column]
        return try value.map { try StoreRules.stored($0, "\(table).\(column)") }
    }
}
