import Foundation
import SchedulerCore
import Testing

@testable import SchedulerStore

/// The stored records' JSON parser reads what the stores write exactly as `JSONDecoder` does,
/// and gives up (leaving it to `JSONDecoder`) on anything else.
struct StoredJSONTests {
    @Test func valuesEscapesAndNesting() throws {
        let parsed = try #require(
            StoredJSON.parse(#" { "a" : "x\u00e9\ud83d\ude00\n\"\\\/\b\f\r\t" , "b":[1,-2,0,[ ]],"c":null,"d":true,"e":false,"f":{},"g":"é😀" } "#))
        #expect(
            parsed
                == .object([
                    "a": .string("xé😀\n\"\\/\u{08}\u{0C}\r\t"), "b": .array([.int(1), .int(-2), .int(0), .array([])]), "c": .null, "d": .bool(true),
                    "e": .bool(false), "f": .object([:]), "g": .string("é😀"),
                ]))
        #expect(StoredJSON.parse("\(Int.max)") == .int(Int.max))
        #expect(StoredJSON.parse("\(Int.min)") == .int(Int.min))
        #expect(StoredJSON.parse("-0") == .int(0))
    }

    @Test(arguments: [
        "", " ", "01", "-", "1.5", "1e3", "1E3", "99999999999999999999", "-99999999999999999999", "[1,]", "[1 2]", "{", "{\"a\"}", "{\"a\":1,}",
        "{a:1}", "\"\\x\"", "\"\\ud800\"", "\"\\ud800\\u0041\"", "\"\\udc00\"", "\"\\u12\"", "\"a\u{01}\"", "\"open", "1 2", "[1] x", "tru", "nul",
        String(repeating: "[", count: 70) + String(repeating: "]", count: 70),
    ])
    func anythingElseIsGivenUp(text: String) {
        #expect(StoredJSON.parse(text) == nil, "\(text)")
    }

    static func randomText(_ random: inout some RandomNumberGenerator) -> String {
        let pieces = ["a", "Ж", "é", "😀", "\"", "\\", "/", "\n", "\u{01}", "\u{1F}", " ", "\u{2028}", "z", "0"]
        return String((0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random) ?? "a" }.joined())
    }

    static func randomWindows(_ random: inout some RandomNumberGenerator) -> [[Int]] {
        (0..<Int.random(in: 0...7, using: &random)).map { _ in [Int.random(in: 1...7, using: &random), Int.random(in: -5...1440, using: &random), .max] }
    }

    /// Random records of every stored form, written as the stores write them (and in other
    /// spellings JSON allows), read by both: the same values.
    @Test func everyStoredFormReadsAsJSONDecoderReadsIt() throws {
        var random = SystemRandomNumberGenerator()
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys]
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        func same<T: StoredJSONDecodable & Encodable>(_ value: T) throws {
            for encoder in [sorted, pretty] {
                let text = String(decoding: try encoder.encode(value), as: UTF8.self)
                let fast = try #require(StoredJSON.parse(text).flatMap(T.init(json:)), "\(text)")
                let slow = try JSONDecoder().decode(T.self, from: Data(text.utf8))
                #expect(try sorted.encode(fast) == sorted.encode(slow), "\(text)")
                #expect(try sorted.encode(fast) == sorted.encode(value), "\(text)")
            }
        }
        for _ in 0..<300 {
            try same(
                StoreRules.YoungPersonData(
                    name: Self.randomText(&random), birthDay: Bool.random(using: &random) ? Int.random(in: -719_162...2_932_896, using: &random) : nil,
                    windows: Self.randomWindows(&random), awayDays: (0..<Int.random(in: 0...3, using: &random)).map { _ in Int.random(in: -100...100_000) },
                    sessionsPerWeek: Int.random(in: 0...5, using: &random), minutesPerSession: Int.random(in: Int.min...Int.max, using: &random),
                    preferredCounsellorID: Bool.random(using: &random) ? Self.randomText(&random) : nil,
                    requiredQualifications: (0..<Int.random(in: 0...3, using: &random)).map { _ in Self.randomText(&random) }))
            try same(
                StoreRules.CounsellorData(
                    name: Self.randomText(&random), windows: Self.randomWindows(&random), awayDays: [Int.random(in: 0...30_000, using: &random)],
                    qualifications: [Self.randomText(&random)], maxSessionsPerWeek: Int.random(in: 0...40, using: &random),
                    maxMinutesPerDay: Int.random(in: 0...1440, using: &random)))
            try same(
                StoreRules.MentorData(
                    organisation: Self.randomText(&random), name: Self.randomText(&random), fields: [Self.randomText(&random), "it"],
                    capacity: Int.random(in: 0...10_000, using: &random), windows: Self.randomWindows(&random), awayDays: [],
                    sessionMinutes: Int.random(in: 15...240, using: &random)))
        }
    }

    /// What the parser gives up on is `JSONDecoder`'s to read or refuse: a number written as
    /// `1.0` still reads; a text of another shape is DATA_LOSS naming the column.
    @Test func whatTheParserGivesUpOnIsLeftToJSONDecoder() throws {
        let text = #"{"name":"A","windows":[[1,540,600.0]],"away_days":[],"sessions_per_week":2,"minutes_per_session":60,"required_qualifications":[]}"#
        #expect(StoredJSON.parse(text) == nil)
        let person = try StoreRules.youngPerson(id: "yp", homeID: "h", data: text)
        #expect(person.availability.windows == [WeeklyWindow(weekday: .monday, start: 540, end: 600)])
        #expect(person.sessionsPerWeek == 2 && person.preferredCounsellorID == nil && person.birthDate == nil)
        for bad in [
            #"{"name":"A"}"#, #"{"name":1,"windows":[],"away_days":[],"sessions_per_week":2,"minutes_per_session":60,"required_qualifications":[]}"#, "x",
        ] {
            #expect(throws: SchedulerError.self) { _ = try StoreRules.youngPerson(id: "yp", homeID: "h", data: bad) }
            do {
                _ = try StoreRules.youngPerson(id: "yp", homeID: "h", data: bad)
            } catch let error as SchedulerError {
                #expect(error.code == .dataLoss && error.message.contains("young_person.data"))
            }
        }
    }
}
