import Foundation
import SchedulerCore
import Testing

struct CounsellingModelTests {
    @Test func touchingWindowsAreJoinedAndOthersKept() throws {
        let parse = { (text: String) in try #require(WeeklyWindow(parsing: text)) }
        let availability = Availability(windows: [
            try parse("mon 11:00-12:00"), try parse("mon 10:00-11:00"), try parse("mon 13:00-14:00"), try parse("tue 11:00-12:00"),
        ])
        #expect(availability.windows.map(\.description) == ["mon 10:00-12:00", "mon 13:00-14:00", "tue 11:00-12:00"])
        // A session across the join keeps the rules.
        let person = YoungPerson(id: "y", homeID: "h", availability: availability)
        let counsellor = Counsellor(id: "c", siteID: "s", availability: Availability(windows: [try parse("mon 09:00-18:00")]))
        let monday = try #require(CivilDate(parsing: "2030-01-07"))
        let session = CounsellingSession(id: "s1", youngPersonID: "y", counsellorID: "c", date: monday, start: 10 * 60 + 30, minutes: 60, homeID: "h")
        try SessionRules.check(session, person: person, counsellor: counsellor, others: [])
        var late = session
        late.start = 12 * 60 + 30
        #expect(throws: SchedulerError.self) { try SessionRules.check(late, person: person, counsellor: counsellor, others: []) }
    }

    @Test func theTimeZoneIsNamedByItsOffsetAtEachDate() throws {
        // Kazakhstan moved from +06 to +05 on 2024-03-01: the observance before it is +06.
        let event = CalendarEvent(
            uid: "a@s", date: try #require(CivilDate(parsing: "2024-02-27")), start: 600, minutes: 60, summary: "S", location: "L", sequence: 0,
            cancelled: false)
        let later = CalendarEvent(
            uid: "b@s", date: try #require(CivilDate(parsing: "2024-03-05")), start: 600, minutes: 60, summary: "S", location: "L", sequence: 0,
            cancelled: false)
        let text = try ICalendarWriter.calendar(name: "c", timeZone: "Asia/Almaty", events: [event, later], stamp: Date(timeIntervalSince1970: 0))
        let lines = text.components(separatedBy: "\r\n")
        let names = lines.filter { $0.hasPrefix("TZNAME:") }
        let offsets = lines.filter { $0.hasPrefix("TZOFFSETTO:") }
        #expect(offsets == ["TZOFFSETTO:+0600", "TZOFFSETTO:+0500"])
        #expect(names == ["TZNAME:+06", "TZNAME:+05"])
    }
}
