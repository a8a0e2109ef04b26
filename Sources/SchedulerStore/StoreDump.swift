import Foundation
import SchedulerCore

/// Moving a store's data to another store (SQLite to PostgreSQL, or back): every row of every
/// table, in a store-neutral form. Both stores have the same tables and columns; only the
/// column types' spelling differs.
public protocol StoreTransfer: Store {
    /// The names of the migrations applied, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Every row of every table (`StoreDump.tables` order), from one consistent snapshot.
    func exportRows(_ sink: @escaping @Sendable (StoreDump.Row) throws -> Void) async throws
    /// Loads `rows` into this store, which must hold no data, in one transaction: all or nothing.
    func importRows(_ rows: [StoreDump.Row]) async throws
}

public enum StoreDump {
    public enum ColumnType: Sendable { case int, text, bool, bytes }

    public struct Table: Sendable {
        public let name: String
        public let columns: [(name: String, type: ColumnType)]
        /// The identity column whose sequence must continue after the imported rows, if any.
        public let sequence: String?
        let order: String

        var columnList: String { columns.map(\.name).joined(separator: ", ") }
    }

    /// The tables in an order that keeps references valid on import.
    public static let tables: [Table] = [
        Table(
            name: "token",
            columns: [
                ("seq", .int), ("id", .text), ("hash", .bytes), ("role", .text), ("scope", .text), ("name", .text),
                ("created_at_ms", .int), ("created_by", .text), ("revoked_at_ms", .int),
            ], sequence: "seq", order: "seq"),
        Table(
            name: "audit", columns: [("seq", .int), ("at_ms", .int), ("actor", .text), ("method", .text), ("records", .text)], sequence: "seq", order: "seq"),
        Table(
            name: "idempotency",
            columns: [
                ("actor", .text), ("key", .text), ("method", .text), ("request_digest", .bytes), ("reply", .bytes), ("created_at_ms", .int),
            ], sequence: nil, order: "actor, key"),
        Table(name: "site", columns: [("id", .text), ("name", .text), ("time_zone", .text)], sequence: nil, order: "id"),
        Table(
            name: "nursery",
            columns: [
                ("id", .text), ("site_id", .text), ("name", .text), ("open_weekdays", .int), ("closures", .text), ("morning", .text), ("afternoon", .text),
            ], sequence: nil, order: "id"),
        Table(
            name: "nursery_group",
            columns: [
                ("id", .text), ("nursery_id", .text), ("name", .text), ("min_age_months", .int), ("max_age_months", .int), ("capacity", .int),
                ("reserved_sos", .int), ("reserved_local", .int), ("ledger_version", .int),
            ], sequence: nil, order: "id"),
        Table(
            name: "family",
            columns: [
                ("id", .text), ("site_id", .text), ("kind", .text), ("single_parent", .bool), ("parents_working", .bool), ("contact_ref", .text),
            ], sequence: nil, order: "id"),
        Table(
            name: "child", columns: [("id", .text), ("family_id", .text), ("given_name", .text), ("birth_day", .int), ("special_needs", .bool)], sequence: nil,
            order: "id"),
        Table(
            name: "placement",
            columns: [
                ("id", .text), ("child_id", .text), ("group_id", .text), ("nursery_id", .text), ("kind", .text), ("first_day", .int),
                ("last_day", .int), ("pattern", .int), ("state", .text),
            ], sequence: nil, order: "id"),
        Table(
            name: "intake_round",
            columns: [
                ("id", .text), ("site_id", .text), ("name", .text), ("first_day", .int), ("last_day", .int), ("deadline_ms", .int), ("seed", .int),
                ("priority_order", .text), ("state", .text), ("inputs_version", .int), ("run_stored", .bool),
            ], sequence: nil, order: "id"),
        Table(
            name: "intake_offer",
            columns: [
                ("id", .text), ("round_id", .text), ("group_id", .text), ("nursery_id", .text), ("pattern", .int), ("places", .int),
                ("reserved_sos", .int), ("reserved_local", .int),
            ], sequence: nil, order: "id"),
        Table(
            name: "intake_application",
            columns: [("round_id", .text), ("child_id", .text), ("ranking", .text), ("submitted_at_ms", .int), ("frozen_facts", .text)], sequence: nil,
            order: "round_id, child_id"),
        Table(
            name: "intake_event",
            columns: [
                ("round_id", .text), ("seq", .int), ("kind", .text), ("child_id", .text), ("offer_id", .text), ("accept", .bool), ("at_ms", .int),
            ], sequence: nil, order: "round_id, seq"),
        Table(
            name: "intake_result",
            columns: [
                ("round_id", .text), ("child_id", .text), ("offer_id", .text), ("seat", .text), ("choice", .int),
            ], sequence: nil, order: "round_id, child_id"),
        Table(
            name: "intake_run_children", columns: [("round_id", .text), ("first_child", .text), ("last_child", .text), ("records", .bytes)], sequence: nil,
            order: "round_id, first_child"),
        Table(
            name: "intake_run_offer",
            columns: [
                ("round_id", .text), ("offer_id", .text), ("places", .int), ("held", .int), ("held_sos", .int), ("held_local", .int), ("waiting", .int),
                ("holders", .bytes), ("waitlist", .bytes),
            ], sequence: nil, order: "round_id, offer_id"),
        Table(name: "home", columns: [("id", .text), ("site_id", .text), ("name", .text)], sequence: nil, order: "id"),
        Table(name: "counsellor", columns: [("id", .text), ("site_id", .text), ("data", .text)], sequence: nil, order: "id"),
        Table(name: "young_person", columns: [("id", .text), ("site_id", .text), ("home_id", .text), ("data", .text)], sequence: nil, order: "id"),
        Table(
            name: "counselling_session",
            columns: [
                ("id", .text), ("site_id", .text), ("young_person_id", .text), ("counsellor_id", .text), ("home_id", .text), ("day", .int),
                ("start_minute", .int), ("minutes", .int), ("status", .text), ("pinned", .bool), ("sequence", .int),
            ], sequence: nil, order: "id"),
        Table(name: "counselling_version", columns: [("site_id", .text), ("version", .int)], sequence: nil, order: "site_id"),
        Table(name: "mentor", columns: [("id", .text), ("site_id", .text), ("fields", .text), ("data", .text)], sequence: nil, order: "id"),
        Table(
            name: "mentor_batch", columns: [("id", .text), ("site_id", .text), ("input_digest", .bytes), ("answer", .bytes), ("created_at_ms", .int)],
            sequence: nil, order: "id"),
        Table(
            name: "mentor_session",
            columns: [
                ("id", .text), ("site_id", .text), ("mentor_id", .text), ("young_person_id", .text), ("batch_id", .text), ("day", .int),
                ("start_minute", .int), ("minutes", .int), ("status", .text), ("sequence", .int),
            ], sequence: nil, order: "id"),
    ]

    static func table(_ name: String) throws -> Table {
        guard let table = tables.first(where: { $0.name == name }) else {
            throw SchedulerError(.invalidArgument, "the dump has rows of an unknown table \(name)", field: "table")
        }
        return table
    }

    public enum Value: Sendable, Hashable {
        case null
        case int(Int64)
        case text(String)
        case bool(Bool)
        case bytes([UInt8])
    }

    /// Each dumped group's `ledger_version`. An import puts these back after loading the
    /// placements, whose triggers bump the versions as rows arrive: the copy stays exact.
    static func ledgerVersions(_ rows: [Row]) -> [(group: String, version: Int)] {
        rows.compactMap { row in
            guard row.table == "nursery_group", row.values.count == 9, case .text(let id) = row.values[0], case .int(let version) = row.values[8]
            else { return nil }
            return (id, Int(version))
        }
    }

    public struct Row: Sendable, Hashable {
        public var table: String
        public var values: [Value]

        public init(table: String, values: [Value]) {
            self.table = table
            self.values = values
        }
    }

    /// The first line of a dump file.
    public struct Header: Codable, Sendable {
        public var format: String
        public var version: Int
        public var migrations: [String]
        public var store: String

        public init(migrations: [String], store: String) {
            self.format = StoreDump.format
            self.version = 1
            self.migrations = migrations
            self.store = store
        }
    }

    public static let format = "sosched-dump"

    // MARK: JSON lines

    /// One row as a JSON line: `{"t":"site","r":["almaty","Almaty","Asia/Almaty"]}`; bytes are
    /// `{"b64":"…"}`, integers JSON numbers, absent values null.
    public static func line(_ row: Row) throws -> String {
        let values: [Any] = row.values.map { value -> Any in
            switch value {
            case .null: return NSNull()
            case .int(let number): return NSNumber(value: number)
            case .text(let text): return text
            case .bool(let flag): return NSNumber(value: flag)
            case .bytes(let bytes): return ["b64": Data(bytes).base64EncodedString()]
            }
        }
        let data = try JSONSerialization.data(withJSONObject: ["t": row.table, "r": values], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The number as an `Int64` if it is one exactly (not 1.5, not 1e30, not above `Int64.max`).
    static func exactInteger(_ number: NSNumber) -> Int64? {
        switch String(cString: number.objCType) {
        case "d", "f":
            return Int64(exactly: number.doubleValue)
        case "Q", "L", "I", "S", "C":
            return Int64(exactly: number.uint64Value)
        default:
            return number.int64Value
        }
    }

    /// Parses a row line, checking it against the table's columns; `number` names the line in errors.
    public static func row(fromLine text: String, number: Int) throws -> Row {
        func bad(_ why: String) -> SchedulerError { SchedulerError(.invalidArgument, "line \(number) of the dump: \(why)", field: "input") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let name = object["t"] as? String, let raw = object["r"] as? [Any]
        else { throw bad("not a row ({\"t\": TABLE, \"r\": [VALUES]})") }
        let table = try table(name)
        guard raw.count == table.columns.count else { throw bad("\(name) has \(table.columns.count) columns, the line \(raw.count)") }
        var values: [Value] = []
        for (item, column) in zip(raw, table.columns) {
            if item is NSNull {
                values.append(.null)
                continue
            }
            switch column.type {
            case .int:
                guard let number = item as? NSNumber, let value = exactInteger(number) else {
                    throw bad("\(name).\(column.name) is not an integer of 64 bits")
                }
                if let range = StoreRules.storedRanges["\(name).\(column.name)"], !range.contains(Int(value)) {
                    throw bad("\(name).\(column.name) is \(value), outside \(range.lowerBound)-\(range.upperBound)")
                }
                values.append(.int(value))
            case .text:
                guard let text = item as? String else { throw bad("\(name).\(column.name) is not text") }
                values.append(.text(text))
            case .bool:
                guard let number = item as? NSNumber else { throw bad("\(name).\(column.name) is not true or false") }
                values.append(.bool(number.boolValue))
            case .bytes:
                guard let wrapped = item as? [String: Any], let text = wrapped["b64"] as? String, let data = Data(base64Encoded: text) else {
                    throw bad("\(name).\(column.name) is not {\"b64\": BASE64}")
                }
                values.append(.bytes(Array(data)))
            }
        }
        return Row(table: name, values: values)
    }
}
