import Foundation
import PostgresNIO
import SchedulerCore

extension PostgresStore: StoreTransfer {
    public func exportRows(_ sink: @escaping @Sendable (StoreDump.Row) throws -> Void) async throws {
        // Not retried: the rows already handed to the sink cannot be taken back.
        try await transaction(readOnly: true, retry: false) { tx in
            for table in StoreDump.tables {
                let rows = try await tx.connection.query(
                    PostgresQuery(unsafeSQL: "SELECT \(table.columnList) FROM \(table.name) ORDER BY \(table.order)"), logger: tx.logger)
                for try await row in rows {
                    let cells = row.makeRandomAccess()
                    var values: [StoreDump.Value] = []
                    for (index, column) in table.columns.enumerated() {
                        switch column.type {
                        case .int: values.append(try cells[index].decode(Int64?.self).map(StoreDump.Value.int) ?? .null)
                        case .text: values.append(try cells[index].decode(String?.self).map(StoreDump.Value.text) ?? .null)
                        case .bool: values.append(try cells[index].decode(Bool?.self).map(StoreDump.Value.bool) ?? .null)
                        case .bytes: values.append(try cells[index].decode(Data?.self).map { .bytes(Array($0)) } ?? .null)
                        }
                    }
                    try sink(StoreDump.Row(table: table.name, values: values))
                }
            }
        }
    }

    public func importRows(_ rows: [StoreDump.Row]) async throws {
        try await transaction(retry: false) { tx in
            for table in StoreDump.tables {
                let count = try await tx.row(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.name)"))?.int(0) ?? 0
                guard count == 0 else {
                    throw SchedulerError(
                        .failedPrecondition, "the store already holds data (table \(table.name) has \(count) rows); import needs an empty store", field: "store"
                    )
                }
            }
            // Rows go in by the hundred: one statement per row would take minutes for a large store.
            var start = 0
            while start < rows.count {
                let table = try StoreDump.table(rows[start].table)
                var end = start
                while end < rows.count, end - start < 200, rows[end].table == table.name { end += 1 }
                var bindings = PostgresBindings(capacity: (end - start) * table.columns.count)
                var tuples: [String] = []
                for row in rows[start..<end] {
                    var marks: [String] = []
                    for value in row.values {
                        switch value {
                        case .null: bindings.appendNull()
                        case .int(let number): bindings.append(number)
                        case .text(let text): bindings.append(text)
                        case .bool(let flag): bindings.append(flag)
                        case .bytes(let bytes): try bindings.append(Data(bytes))
                        }
                        marks.append("$\(bindings.count)")
                    }
                    tuples.append("(" + marks.joined(separator: ", ") + ")")
                }
                try await tx.run(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO \(table.name) (\(table.columnList)) VALUES \(tuples.joined(separator: ", "))", binds: bindings))
                start = end
            }
            for (group, version) in StoreDump.ledgerVersions(rows) {
                try await tx.run("UPDATE nursery_group SET ledger_version = \(version) WHERE id = \(group)")
            }
            // Identity columns continue after the imported rows.
            for table in StoreDump.tables {
                guard let column = table.sequence else { continue }
                try await tx.run(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT setval(pg_get_serial_sequence('\(table.name)', '\(column)'), COALESCE(max(\(column)), 0) + 1, false) FROM \(table.name)
                            """))
            }
        }
    }
}
