import Foundation
import GRDB
import SchedulerCore

extension SQLiteStore: StoreTransfer {
    public func exportRows(_ sink: @escaping @Sendable (StoreDump.Row) throws -> Void) async throws {
        try await read { db in
            for table in StoreDump.tables {
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(table.columnList) FROM \(table.name) ORDER BY \(table.order)")
                while let row = try cursor.next() {
                    let values = try table.columns.indices.map { index -> StoreDump.Value in
                        let value = row[index] as DatabaseValue
                        if value.isNull { return .null }
                        // A value of the wrong kind (a text where a number belongs, written by hand) stops the export.
                        func unreadable() -> SchedulerError { StoreRules.unreadable("\(table.name).\(table.columns[index].name)") }
                        switch table.columns[index].type {
                        case .int:
                            guard let number = Int64.fromDatabaseValue(value) else { throw unreadable() }
                            return .int(number)
                        case .text:
                            guard let text = String.fromDatabaseValue(value) else { throw unreadable() }
                            return .text(text)
                        case .bool:
                            guard let flag = Bool.fromDatabaseValue(value) else { throw unreadable() }
                            return .bool(flag)
                        case .bytes:
                            guard let data = Data.fromDatabaseValue(value) else { throw unreadable() }
                            return .bytes(Array(data))
                        }
                    }
                    try sink(StoreDump.Row(table: table.name, values: values))
                }
            }
        }
    }

    public func importRows(_ rows: [StoreDump.Row]) async throws {
        try await writeAlone { db in
            for table in StoreDump.tables {
                let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.name)") ?? 0
                guard count == 0 else {
                    throw SchedulerError(
                        .failedPrecondition, "the store already holds data (table \(table.name) has \(count) rows); import needs an empty store", field: "store"
                    )
                }
            }
            for row in rows {
                let table = try StoreDump.table(row.table)
                let marks = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
                let arguments = StatementArguments(
                    row.values.map { value -> (any DatabaseValueConvertible)? in
                        switch value {
                        case .null: return nil
                        case .int(let number): return number
                        case .text(let text): return text
                        case .bool(let flag): return flag
                        case .bytes(let bytes): return Data(bytes)
                        }
                    })
                try db.run(sql: "INSERT INTO \(table.name) (\(table.columnList)) VALUES (\(marks))", arguments: arguments)
            }
            for (group, version) in StoreDump.ledgerVersions(rows) {
                try db.run(sql: "UPDATE nursery_group SET ledger_version = ? WHERE id = ?", arguments: [version, group])
            }
        }
    }
}
