import ArgumentParser
import Foundation
import SchedulerCore

// Import files of the CLI (counselling records, mentors, mentor batches): CSV (RFC 4180, a
// header line first) or JSON lines. Every bad line is reported, all at once, with its number,
// and nothing is sent unless the whole file is good.

/// The two forms of an import file.
enum ImportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv
    case jsonl

    /// From a file name: `.csv` is CSV, `.jsonl` and `.ndjson` are JSON lines; nil for any other.
    init?(fileName: String) {
        switch URL(fileURLWithPath: fileName).pathExtension.lowercased() {
        case "csv": self = .csv
        case "jsonl", "ndjson": self = .jsonl
        default: return nil
        }
    }

    /// `given`, else the file name's, else `fallback`.
    static func resolve(_ given: ImportFormat?, path: String, fallback: ImportFormat = .csv) -> ImportFormat {
        given ?? (path == "-" ? nil : ImportFormat(fileName: path)) ?? fallback
    }
}

/// An import file read whole, from a path or from standard input ("-").
struct ImportSource {
    /// The path, or "stdin", for messages.
    let name: String
    let bytes: Data

    /// The file's bytes; a file that cannot be read is said on standard error, and exits 1.
    static func read(_ path: String) throws -> ImportSource {
        if path == "-" { return ImportSource(name: "stdin", bytes: FileHandle.standardInput.readDataToEndOfFile()) }
        do {
            return ImportSource(name: path, bytes: try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            FileHandle.standardError.write(Data("error: cannot read \(visible(path)): \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The text, or the numbers of the lines that are not UTF-8.
    var text: Result<String, BadLines> {
        if let text = String(data: bytes, encoding: .utf8) { return .success(text) }
        var lines: [Int] = []
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
        where String(data: Data(line), encoding: .utf8) == nil {
            lines.append(index + 1)
        }
        return .failure(BadLines(lines: lines))
    }

    struct BadLines: Error { let lines: [Int] }
}

/// One record of an import file: its values by column, and its line for messages. Its readers
/// never throw: each notes what is wrong (`problems`) and returns a stand-in, so one pass over a
/// line finds every problem in it.
final class ImportRow {
    let line: Int
    private let values: [String: String]
    /// JSON lines may give lists as arrays.
    private let lists: [String: [String]]
    /// The columns the file has no header for: the header's error names them once, not every line.
    private let lacking: Set<String>
    private(set) var problems: [String] = []

    init(line: Int, values: [String: String], lists: [String: [String]] = [:], lacking: Set<String> = []) {
        self.line = line
        self.values = values
        self.lists = lists
        self.lacking = lacking
    }

    /// Notes a problem of this line (a rule between columns, say).
    func problem(_ message: String) {
        if !problems.contains(message) { problems.append(message) }
    }

    private func problem(_ key: String, _ message: String) {
        if !lacking.contains(key) { problem(message) }
    }

    private func empty(_ key: String) {
        problem(key, values[key] == nil && lists[key] == nil ? "\(key) is missing" : "\(key) is empty")
    }

    func raw(_ key: String) -> String { (values[key] ?? "").trimmingCharacters(in: .whitespaces) }

    /// Whether the line gives `key` a value.
    func has(_ key: String) -> Bool { !raw(key).isEmpty || !(lists[key] ?? []).isEmpty }

    func text(_ key: String) -> String {
        let value = raw(key)
        if value.isEmpty { empty(key) }
        return value
    }

    func id(_ key: String) -> String {
        let value = text(key)
        if !value.isEmpty, !Scope.isValidID(value) { problem(key, "\(key) '\(value)' must be 1-64 letters, digits, '-' or '_'") }
        return value
    }

    func optionalID(_ key: String) -> String { raw(key).isEmpty ? "" : id(key) }

    func list(_ key: String) -> [String] {
        let items = lists[key] ?? raw(key).split(separator: ";").map(String.init)
        return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func windows(_ key: String) -> [String] {
        let windows = list(key)
        for window in windows where WeeklyWindow(parsing: window) == nil {
            problem(key, "\(key): '\(window)' is not a window such as \"mon 16:00-19:00\" (15-minute grid)")
        }
        return windows
    }

    /// Words such as mentor fields (`it`, `finance`): at least one, at most `most`, each 1-32
    /// letters, digits, '-' or '_', lower-cased, each once.
    func words(_ key: String, most: Int) -> [String] {
        let words = list(key)
        if words.isEmpty {
            if raw(key).isEmpty, lists[key] == nil { empty(key) } else { problem(key, "\(key): give at least one, such as it;finance") }
        }
        var result: [String] = []
        for word in words.map({ $0.lowercased() }) where !result.contains(word) {
            if word.utf8.count > 32 || !Scope.isValidID(word) {
                problem(key, "\(key): '\(word)' must be 1-32 letters, digits, '-' or '_'")
            } else {
                result.append(word)
            }
        }
        if result.count > most { problem(key, "\(key): \(result.count) given, at most \(most)") }
        return result
    }

    /// An optional date: "" when not given.
    func date(_ key: String) -> String {
        let value = raw(key)
        if !value.isEmpty, CivilDate(parsing: value) == nil { problem(key, "\(key) '\(value)' is not a date YYYY-MM-DD") }
        return value
    }

    /// A date that must be given.
    func requiredDate(_ key: String) -> CivilDate? {
        let value = text(key)
        guard !value.isEmpty else { return nil }
        guard let date = CivilDate(parsing: value) else {
            problem(key, "\(key) '\(value)' is not a date YYYY-MM-DD")
            return nil
        }
        return date
    }

    func dates(_ key: String) -> [String] {
        let dates = list(key)
        for date in dates where CivilDate(parsing: date) == nil { problem(key, "\(key): '\(date)' is not a date YYYY-MM-DD") }
        return dates
    }

    /// A number in `range`; empty gives `fallback`, or is a problem without one.
    func number(_ key: String, _ range: ClosedRange<UInt32>, default fallback: UInt32? = nil) -> UInt32 {
        let value = raw(key)
        if value.isEmpty {
            if let fallback { return fallback }
            empty(key)
            return range.lowerBound
        }
        guard let number = UInt32(value), range.contains(number) else {
            problem(key, "\(key) '\(value)' must be a number from \(range.lowerBound) to \(range.upperBound)")
            return range.lowerBound
        }
        return number
    }
}

enum ImportFile {
    /// What an import file holds: its records by line, and every problem found, each naming its line.
    struct Parsed<Record> {
        var records: [(line: Int, record: Record)] = []
        var errors: [String] = []
    }

    /// Reads a CSV (header first) or JSON lines file into records; every bad line is reported,
    /// all at once, with its number, and nothing is returned unless all are good (else it exits
    /// 1; `mentors assign` turns that into its own code). Without `format`, a file whose first line starts with "{" is JSON lines.
    /// `unique` names what a record may hold only once in the file (an id) and how to find it.
    static func read<Record>(
        _ path: String, format: ImportFormat? = nil, columns: [String], required: [String], unique: (name: String, key: (Record) -> String)? = nil,
        _ make: (ImportRow) -> Record
    ) throws -> [Record] {
        let source = try ImportSource.read(path)
        return try numberedRecords(in: source, format: format, columns: columns, required: required, unique: unique, make).map(\.record)
    }

    /// As `read`, for a file read already, each record with its line.
    static func numberedRecords<Record>(
        in source: ImportSource, format: ImportFormat?, columns: [String], required: [String], unique: (name: String, key: (Record) -> String)? = nil,
        _ make: (ImportRow) -> Record
    ) throws -> [(line: Int, record: Record)] {
        let parsed: Parsed<Record>
        switch source.text {
        case .failure(let bad): parsed = Parsed(errors: bad.lines.map { "line \($0): not UTF-8 text" })
        case .success(let text): parsed = parse(text, format: format, columns: columns, required: required, unique: unique, make)
        }
        guard parsed.errors.isEmpty else { throw report(parsed.errors, in: source.name) }
        return parsed.records
    }

    /// Writes every problem to standard error, and the error to exit with.
    static func report(_ errors: [String], in name: String) -> ExitCode {
        FileHandle.standardError.write(Data((errors.map { "\(name): \(visible($0))" }.joined(separator: "\n") + "\n").utf8))
        FileHandle.standardError.write(Data("error: \(errors.count) problem(s) in \(visible(name)); nothing was sent\n".utf8))
        return ExitCode(1)
    }

    /// Every record of `text` and every problem, without reading or writing anything.
    static func parse<Record>(
        _ text: String, format: ImportFormat?, columns: [String], required: [String], unique: (name: String, key: (Record) -> String)? = nil,
        _ make: (ImportRow) -> Record
    ) -> Parsed<Record> {
        var parsed = Parsed<Record>()
        var body = text.replacingOccurrences(of: "\r\n", with: "\n")
        if body.hasPrefix("\u{FEFF}") { body.removeFirst() }
        let sniffed: ImportFormat =
            body.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces).hasPrefix("{") } == true ? .jsonl : .csv
        let rows =
            (format ?? sniffed) == .jsonl
            ? jsonLines(body, columns: columns, errors: &parsed.errors) : csv(body, columns: columns, required: required, errors: &parsed.errors)
        var seen: [String: Int] = [:]
        for row in rows {
            let record = make(row)
            if let unique, row.problems.isEmpty {
                let key = unique.key(record)
                if let first = seen[key] {
                    row.problem("\(unique.name) \(key) is on line \(first) already")
                } else {
                    seen[key] = row.line
                }
            }
            if row.problems.isEmpty {
                parsed.records.append((row.line, record))
            } else {
                parsed.errors.append("line \(row.line): " + row.problems.joined(separator: "; "))
            }
        }
        if rows.isEmpty, parsed.errors.isEmpty { parsed.errors.append("the file holds no record") }
        parsed.errors = parsed.errors.enumerated().sorted { (lineNumber($0.element), $0.offset) < (lineNumber($1.element), $1.offset) }.map(\.element)
        return parsed
    }

    /// The line an error names, to list them in file order.
    private static func lineNumber(_ error: String) -> Int {
        Int(error.dropFirst("line ".count).prefix { $0.isNumber }) ?? 0
    }

    static func jsonLines(_ text: String, columns: [String], errors: inout [String]) -> [ImportRow] {
        var rows: [ImportRow] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
                errors.append("line \(index + 1): not a JSON object")
                continue
            }
            var values: [String: String] = [:]
            var lists: [String: [String]] = [:]
            var problems: [String] = []
            // Keys of a value of the wrong kind: named once here, not again as missing.
            var rejected = Set<String>()
            for key in object.keys.sorted(by: { (columns.firstIndex(of: $0) ?? columns.count, $0) < (columns.firstIndex(of: $1) ?? columns.count, $1) }) {
                guard columns.contains(key), let value = object[key] else {
                    problems.append("unknown key \(key) (known: \(columns.joined(separator: ", ")))")
                    continue
                }
                switch value {
                case let text as String: values[key] = text
                case let number as NSNumber: values[key] = number.stringValue
                case let list as [Any]:
                    let items = list.compactMap { ($0 as? String) ?? ($0 as? NSNumber)?.stringValue }
                    if items.count == list.count { lists[key] = items } else { problems.append("\(key) must be a list of text") }
                default: problems.append("\(key) must be text, a number or a list")
                }
                if values[key] == nil, lists[key] == nil { rejected.insert(key) }
            }
            let row = ImportRow(line: index + 1, values: values, lists: lists, lacking: rejected)
            for problem in problems { row.problem(problem) }
            rows.append(row)
        }
        return rows
    }

    static func csv(_ text: String, columns: [String], required: [String], errors: inout [String]) -> [ImportRow] {
        let (records, unclosed) = parseCSV(text)
        if let unclosed { errors.append("line \(unclosed): a quoted field is not closed (a \" is missing)") }
        guard let header = records.first else { return [] }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var seen = Set<String>()
        for name in names {
            if !columns.contains(name) {
                errors.append("line \(header.line): unknown column '\(name)' (known: \(columns.joined(separator: ", ")))")
            } else if !seen.insert(name).inserted {
                errors.append("line \(header.line): the column \(name) is there twice")
            }
        }
        let lacking = Set(required.filter { !names.contains($0) })
        for name in required where lacking.contains(name) { errors.append("line \(header.line): the header lacks the column \(name)") }
        var rows: [ImportRow] = []
        for record in records.dropFirst() {
            if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            guard record.fields.count == names.count else {
                errors.append("line \(record.line): \(record.fields.count) fields, the header has \(names.count)")
                continue
            }
            let values = Dictionary(zip(names, record.fields), uniquingKeysWith: { first, _ in first })
            rows.append(ImportRow(line: record.line, values: values, lacking: lacking))
        }
        return rows
    }

    /// RFC 4180 records: fields separated by commas, quoted with double quotes (a quote inside
    /// doubled), quoted fields may hold commas and line breaks. Each record keeps its first line.
    /// `unclosedQuote`: the line of a quoted field still open at the end (nil when all are
    /// closed); the records before it are complete.
    static func parseCSV(_ text: String) -> (records: [(line: Int, fields: [String])], unclosedQuote: Int?) {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var recordLine = 1
        // `parse` has already made the line ends LF and taken off a byte-order mark.
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if index + 1 < characters.count, characters[index + 1] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if character == "\n" { line += 1 }
                    field.append(character)
                }
            } else {
                switch character {
                case "\"" where field.isEmpty: quoted = true
                case ",":
                    fields.append(field)
                    field = ""
                case "\n":
                    fields.append(field)
                    records.append((recordLine, fields))
                    fields = []
                    field = ""
                    line += 1
                    recordLine = line
                default: field.append(character)
                }
            }
            index += 1
        }
        if quoted { return (records, recordLine) }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append((recordLine, fields))
        }
        return (records, nil)
    }
}
