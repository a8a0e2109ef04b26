import Foundation
import SchedulerCore
import Testing

/// The iCalendar writer read back by a small RFC 5545 reader written here: unfolding, line
/// ends, escaping, and the times against the zone's offsets from the time-zone database.
struct ICalendarTests {
    /// Content lines: CRLF-separated, continuation lines (starting with a space) joined.
    static func unfold(_ text: String) -> [String] {
        var lines: [String] = []
        for raw in text.components(separatedBy: "\r\n") where !raw.isEmpty {
            if raw.hasPrefix(" "), !lines.isEmpty { lines[lines.count - 1] += raw.dropFirst() } else { lines.append(raw) }
        }
        return lines
    }

    static func unescape(_ text: String) -> String {
        var out = ""
        var escaped = false
        for character in text {
            if escaped {
                out.append(character == "n" || character == "N" ? "\n" : character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        return out
    }

    let day = CivilDate(parsing: "2026-11-24")!

    @Test func linesAreFoldedAtSeventyFiveOctetsWithCRLFAndTextIsEscaped() throws {
        let summary = "Сессия с консультантом; план, цели\\и \"шаги\"\nвторая строка — ещё немного текста, чтобы строка была длинной"
        let text = try ICalendarWriter.calendar(
            name: "Aigerim's schedule",
            timeZone: "Asia/Almaty",
            events: [
                CalendarEvent(
                    uid: "ses_1@almaty.sosched", date: day, start: 9 * 60, minutes: 60, summary: summary, location: "Home 3, Almaty", sequence: 2,
                    cancelled: false),
                CalendarEvent(
                    uid: "ses_2@almaty.sosched", date: day.adding(days: 1), start: 23 * 60, minutes: 60, summary: "late", location: "",
                    sequence: 0, cancelled: true),
            ], stamp: Date(timeIntervalSince1970: 1_795_000_000))
        #expect(text.hasSuffix("\r\n"))
        for physical in text.components(separatedBy: "\r\n") {
            #expect(physical.utf8.count <= 75, "\(physical)")
            #expect(!physical.contains("\n") && !physical.contains("\r"))
        }
        let lines = Self.unfold(text)
        #expect(lines.first == "BEGIN:VCALENDAR" && lines.last == "END:VCALENDAR")
        let summaries = lines.filter { $0.hasPrefix("SUMMARY:") }.map { Self.unescape(String($0.dropFirst(8))) }
        #expect(summaries.first == summary)
        #expect(lines.contains("LOCATION:Home 3\\, Almaty"))
        #expect(lines.contains("DTSTART;TZID=Asia/Almaty:20261124T090000"))
        #expect(lines.contains("DTEND;TZID=Asia/Almaty:20261124T100000"))
        // An event that ends at midnight ends on the next day.
        #expect(lines.contains("DTEND;TZID=Asia/Almaty:20261126T000000"))
        #expect(lines.contains("STATUS:CANCELLED"))
        #expect(lines.contains("SEQUENCE:2"))
        #expect(lines.filter { $0 == "BEGIN:VEVENT" }.count == 2)
        #expect(lines.contains("DTSTAMP:20261118T110640Z"))
    }

    /// Almaty has been UTC+5 since March 2024: the VTIMEZONE must say so, from the database.
    @Test func theTimeZoneComesFromTheDatabase() throws {
        let text = try ICalendarWriter.calendar(
            name: "x", timeZone: "Asia/Almaty",
            events: [CalendarEvent(uid: "u", date: day, start: 600, minutes: 60, summary: "s", location: "", sequence: 0, cancelled: false)],
            stamp: Date(timeIntervalSince1970: 1_795_000_000))
        let lines = Self.unfold(text)
        #expect(lines.contains("TZID:Asia/Almaty"))
        #expect(lines.contains("TZOFFSETTO:+0500"))
        #expect(!lines.contains { $0.hasPrefix("TZOFFSETTO:") && $0 != "TZOFFSETTO:+0500" })

        // A zone that changes within the span lists the change: Berlin on 2026-10-25.
        let berlin = try ICalendarWriter.calendar(
            name: "x", timeZone: "Europe/Berlin",
            events: [
                CalendarEvent(
                    uid: "a", date: CivilDate(parsing: "2026-10-20")!, start: 600, minutes: 60, summary: "s", location: "", sequence: 0,
                    cancelled: false),
                CalendarEvent(
                    uid: "b", date: CivilDate(parsing: "2026-10-30")!, start: 600, minutes: 60, summary: "s", location: "", sequence: 0,
                    cancelled: false),
            ], stamp: Date(timeIntervalSince1970: 1_795_000_000))
        let berlinLines = Self.unfold(berlin)
        #expect(berlinLines.contains("TZOFFSETTO:+0200"))
        #expect(berlinLines.contains("TZOFFSETTO:+0100"))
        #expect(berlinLines.contains("DTSTART:20261025T030000"))
        #expect(berlinLines.contains("BEGIN:STANDARD") && berlinLines.contains("BEGIN:DAYLIGHT"))
    }

    @Test func anUnknownZoneIsRefused() {
        #expect(throws: SchedulerError.self) {
            try ICalendarWriter.calendar(name: "x", timeZone: "Mars/Olympus", events: [], stamp: Date())
        }
    }
}
