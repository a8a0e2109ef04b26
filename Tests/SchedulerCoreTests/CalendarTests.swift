import Foundation
import SchedulerCore
import SchedulerTesting
import Testing

struct CivilDateTests {
    @Test func roundTripsEveryDayOfFourCenturies() throws {
        // Independent of the day-number arithmetic: count days forward with month lengths.
        var expected = try #require(CivilDate(year: 1900, month: 1, day: 1)).dayNumber
        for year in 1900...2300 {
            for month in 1...12 {
                for day in 1...CivilDate.daysInMonth(year: year, month: month) {
                    let date = try #require(CivilDate(year: year, month: month, day: day))
                    #expect(date.dayNumber == expected)
                    expected += 1
                }
            }
        }
        #expect(CivilDate(year: 1970, month: 1, day: 1)?.dayNumber == 0)
        let parsed = try #require(CivilDate(parsing: "2026-09-01"))
        #expect(parsed.components == (2026, 9, 1))
        #expect(parsed.description == "2026-09-01")
    }

    @Test func leapYears() {
        #expect(CivilDate(parsing: "2028-02-29") != nil)
        #expect(CivilDate(parsing: "2026-02-29") == nil)
        #expect(CivilDate(parsing: "2100-02-29") == nil)
        #expect(CivilDate(parsing: "2000-02-29") != nil)
        #expect(CivilDate(parsing: "2026-13-01") == nil)
        #expect(CivilDate(parsing: "2026-9-1") == nil)
        // A child born on 29 February turns 12 months old on 28 February... no: on 1 March.
        let leapling = CivilDate(parsing: "2028-02-29")!
        #expect(leapling.months(until: CivilDate(parsing: "2029-02-28")!) == 11)
        #expect(leapling.months(until: CivilDate(parsing: "2029-03-01")!) == 12)
    }

    @Test func weekdaysAndISOWeeks() throws {
        #expect(CivilDate(parsing: "2026-11-23")?.weekday == .monday)
        #expect(CivilDate(parsing: "2026-11-22")?.weekday == .sunday)
        #expect(CivilDate(parsing: "1970-01-01")?.weekday == .thursday)
        #expect(CivilDate(isoWeek: "2026-W48") == CivilDate(parsing: "2026-11-23"))
        #expect(CivilDate(isoWeek: "2026-W01") == CivilDate(parsing: "2025-12-29"))
        #expect(CivilDate(isoWeek: "2026-W53") == CivilDate(parsing: "2026-12-28"))
        #expect(CivilDate(isoWeek: "2027-W53") == nil)
        #expect(CivilDate(isoWeek: "2026-48") == nil)
        let date = try #require(CivilDate(parsing: "2027-01-01"))
        #expect(date.isoWeek.year == 2026 && date.isoWeek.week == 53)
    }

    @Test func sitesLiveInTheirZone() throws {
        // 19:30 UTC on 1 March 2026 is already 2 March in Almaty (UTC+5 all year since 2024, no DST).
        let instant = Date(timeIntervalSince1970: 1_772_393_400)  // 2026-03-01T19:30:00Z
        #expect(CivilDate(instant: instant, timeZone: "Asia/Almaty") == CivilDate(parsing: "2026-03-02"))
        #expect(CivilDate(instant: instant, timeZone: "UTC") == CivilDate(parsing: "2026-03-01"))
        // Summer and winter give the same offset in Almaty: no daylight saving.
        let july = Date(timeIntervalSince1970: 1_783_018_800)  // 2026-07-02T19:00:00Z
        #expect(CivilDate(instant: july, timeZone: "Asia/Almaty") == CivilDate(parsing: "2026-07-03"))
        #expect(CivilDate(instant: july, timeZone: "Europe/London") == CivilDate(parsing: "2026-07-02"))
        #expect(CivilDate(instant: instant, timeZone: "Mars/Olympus") == nil)
    }
}

struct WeeklyPatternTests {
    @Test(arguments: [
        ("mon-fri:full", 10), ("mon,wed:am", 2), ("tue-thu:pm", 3), ("mon-thu:full;fri:am", 9), ("sat:am", 1),
    ])
    func parses(_ text: String, _ count: Int) throws {
        let pattern = try WeeklyPattern(parsing: text)
        #expect(pattern.slots.count == count)
        #expect(try WeeklyPattern(parsing: pattern.description) == pattern)
    }

    @Test func describesCompactly() throws {
        #expect(try WeeklyPattern(parsing: "mon:full;tue:full;wed:full").description == "mon-wed:full")
        #expect(try WeeklyPattern(parsing: "mon:am;wed:am;fri:pm").description == "mon,wed:am;fri:pm")
        #expect(try WeeklyPattern(parsing: "mon:am;mon:pm").description == "mon:full")
        #expect(try WeeklyPattern(parsing: "mon:full;tue:full;wed:full;thu:full;fri:full").description == "mon-fri:full")
        #expect(try WeeklyPattern(parsing: "mon,tue,wed,thu,fri:am;mon,tue,wed,thu,fri:pm").description == "mon-fri:full")
    }

    @Test func overlappingClausesAreShorter() throws {
        // Said day by day these would be "mon-tue,thu-fri:am;wed:full" and "mon,wed:full;tue,thu-fri:am".
        #expect(try WeeklyPattern(parsing: "mon-fri:am;wed:pm").description == "mon-fri:am;wed:pm")
        #expect(try WeeklyPattern(parsing: "wed:pm;mon-fri:am").description == "mon-fri:am;wed:pm")
        #expect(try WeeklyPattern(parsing: "mon:full;tue:full;wed:full;thu:am").description == "mon-wed:full;thu:am")
        #expect(try WeeklyPattern(parsing: "mon-fri:pm;mon,wed:am").description == "mon,wed:am;mon-fri:pm")
    }

    @Test(arguments: 0..<20)
    func noTextOfAPatternIsShorterThanItsDescription(seed: Int) throws {
        // Random texts of one to four clauses; whatever the text, the server's form is no longer.
        var random = SeededRandom(seed: UInt64(seed) &+ 1)
        let days = Weekday.allCases.map(\.shortName)
        for _ in 0..<2_000 {
            var clauses: [String] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                var items: [String] = []
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let from = Int.random(in: 0..<7, using: &random), to = Int.random(in: from..<7, using: &random)
                    items.append(from == to ? days[from] : "\(days[from])-\(days[to])")
                }
                clauses.append(items.joined(separator: ",") + ":" + ["am", "pm", "full"][Int.random(in: 0..<3, using: &random)])
            }
            let text = clauses.joined(separator: ";")
            let pattern = try WeeklyPattern(parsing: text)
            #expect(pattern.description.count <= text.count, "\(text) -> \(pattern.description)")
            #expect(try WeeklyPattern(parsing: pattern.description) == pattern)
        }
    }

    @Test func everyPatternRoundTrips() throws {
        for bits in 1..<(1 << 14) {
            let pattern = WeeklyPattern(bits: UInt16(bits))
            #expect(try WeeklyPattern(parsing: pattern.description) == pattern)
        }
    }

    @Test(arguments: ["", "mon", "mon-fri", "mon:day", "fri-mon:am", "xyz:am", "mon:am;", "mon--fri:am"])
    func refusesNamingThePattern(_ text: String) {
        #expect {
            try WeeklyPattern(parsing: text)
        } throws: { error in
            (error as? SchedulerError)?.field == "pattern"
        }
    }

    /// Found from outside: "mon-fri:full;" was refused as "pattern is empty", which it is not.
    @Test func aTrailingSeparatorIsNamedAsAnEmptyPart() {
        #expect {
            try WeeklyPattern(parsing: "mon-fri:full;")
        } throws: { error in
            (error as? SchedulerError)?.message.contains("empty part") == true
        }
        #expect {
            try WeeklyPattern(parsing: " ; ")
        } throws: { error in
            (error as? SchedulerError)?.message == "pattern is empty"
        }
    }
}
