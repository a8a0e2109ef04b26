/// A JSON value of a stored record's text (`young_person.data`, `counsellor.data`,
/// `mentor.data`), read without `JSONDecoder`: a snapshot reads thousands of these texts, and
/// `JSONDecoder` took some 50 µs for each young person's (their windows are arrays of arrays),
/// most of a 5,000-person snapshot. The parser takes what the stores write (objects, arrays,
/// strings, integers, booleans, null) and gives up (nil) on anything else, a number with a
/// fraction or an exponent say, or text that is not JSON: the caller then asks `JSONDecoder`,
/// which decides. So a text reads the same either way; only the time differs.
enum StoredJSON: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([StoredJSON])
    case object([String: StoredJSON])

    /// `text` parsed; nil unless it is JSON made of objects, arrays, strings, integers, booleans
    /// and null only (a number with a fraction or an exponent, say, or anything not JSON).
    static func parse(_ text: String) -> StoredJSON? {
        var text = text
        return text.withUTF8 { bytes in
            var parser = Parser(bytes: bytes)
            guard let value = parser.value(depth: 0) else { return nil }
            parser.skipSpace()
            return parser.index == bytes.count ? value : nil
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        mutating func value(depth: Int) -> StoredJSON? {
            guard depth < 64 else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var object: [String: StoredJSON] = [:]
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(object)
                }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                    index += 1
                    guard let member = value(depth: depth + 1) else { return nil }
                    object[key] = member
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else if bytes[index] == UInt8(ascii: "}") {
                        index += 1
                        return .object(object)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "["):
                index += 1
                var array: [StoredJSON] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(array)
                }
                while true {
                    guard let element = value(depth: depth + 1) else { return nil }
                    array.append(element)
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else if bytes[index] == UInt8(ascii: "]") {
                        index += 1
                        return .array(array)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "\""):
                return string().map(StoredJSON.string)
            case UInt8(ascii: "t"):
                return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"):
                return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"):
                return literal("null") ? .null : nil
            default:
                return integer().map(StoredJSON.int)
            }
        }

        /// An integer without fraction or exponent that fits in `Int`.
        mutating func integer() -> Int? {
            var negative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            let first = index
            var value = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                let digit = Int(bytes[index] - 0x30)
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (next, overflow2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { return nil }
                value = next
                index += 1
            }
            let digits = index - first
            // No digits, or a leading zero ("01"), is not JSON; a fraction or exponent is not ours.
            guard digits > 0, !(digits > 1 && bytes[first] == 0x30) else { return nil }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") { return nil }
            return value
        }

        /// A string at `index` (its opening quote), escapes resolved.
        mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            // The common case: no escapes, so the bytes are the string's UTF-8.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                guard bytes[index] >= 0x20 else { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).unicodeScalars)
            var utf8: [UInt8] = []
            func flush() {
                if !utf8.isEmpty {
                    scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                    utf8.removeAll(keepingCapacity: true)
                }
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    flush()
                    return String(scalars)
                }
                guard byte >= 0x20 else { return nil }
                if byte != UInt8(ascii: "\\") {
                    utf8.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                let simple: UInt8?
                switch escaped {
                case UInt8(ascii: "\""): simple = 0x22
                case UInt8(ascii: "\\"): simple = 0x5C
                case UInt8(ascii: "/"): simple = 0x2F
                case UInt8(ascii: "b"): simple = 0x08
                case UInt8(ascii: "f"): simple = 0x0C
                case UInt8(ascii: "n"): simple = 0x0A
                case UInt8(ascii: "r"): simple = 0x0D
                case UInt8(ascii: "t"): simple = 0x09
                case UInt8(ascii: "u"): simple = nil
                default: return nil
                }
                if let simple {
                    utf8.append(simple)
                    continue
                }
                guard var code = hex4() else { return nil }
                if (0xD800...0xDBFF).contains(code) {
                    // A high surrogate must be followed by an escaped low one.
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                    index += 2
                    guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { return nil }
                flush()
                scalars.append(scalar)
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var code: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: return nil
                }
                code = code << 4 | UInt32(digit)
                index += 1
            }
            return code
        }
    }
}

extension StoredJSON {
    subscript(key: String) -> StoredJSON? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    var int: Int? {
        guard case .int(let value) = self else { return nil }
        return value
    }

    var string: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    var ints: [Int]? {
        guard case .array(let values) = self else { return nil }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let number = value.int else { return nil }
            result.append(number)
        }
        return result
    }

    var strings: [String]? {
        guard case .array(let values) = self else { return nil }
        var result: [String] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let text = value.string else { return nil }
            result.append(text)
        }
        return result
    }

    var intArrays: [[Int]]? {
        guard case .array(let values) = self else { return nil }
        var result: [[Int]] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let numbers = value.ints else { return nil }
            result.append(numbers)
        }
        return result
    }

    /// An optional member as `Decodable` reads one: absent or null is `.some(nil)`; a value of
    /// another kind is nil (not ours: `JSONDecoder` decides).
    static func optional<T>(_ member: StoredJSON?, _ read: (StoredJSON) -> T?) -> T?? {
        guard let member, member != .null else { return .some(nil) }
        return read(member).map { .some($0) }
    }
}

/// A stored form `StoreRules.decoded` can read from a `StoredJSON` tree; nil when the tree is
/// not of its shape.
protocol StoredJSONDecodable: Decodable {
    init?(json: StoredJSON)
}
