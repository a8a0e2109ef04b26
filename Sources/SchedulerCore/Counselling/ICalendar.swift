import Foundation

/// One event of an iCalendar export.
public struct CalendarEvent: Sendable, Hashable {
    /// Stable across re-plans: the session's id and the site's domain.
    public var uid: String
    public var date: CivilDate
    /// Minutes from midnight, local to the calendar's zone.
    public var start: Int
    public var minutes: Int
    public var summary: String
    public var location: String
    /// Bumped on every change of the session.
    public var sequence: Int
    public var cancelled: Bool

    public init(uid: String, date: CivilDate, start: Int, minutes: Int, summary: String, location: String, sequence: Int, cancelled: Bool) {
        self.uid = uid
        self.date = date
        self.start = start
        self.minutes = minutes
        self.summary = summary
        self.location = location
        self.sequence = sequence
        self.cancelled = cancelled
    }
}

/// Writes RFC 5545 calendars: CRLF line ends, lines folded at 75 octets (never inside a UTF-8
/// character), text escaped, times local to a TZID whose VTIMEZONE comes from the system's
/// time-zone database for the span of the events.
public enum ICalendarWriter {
    public static func calendar(
        name: String, timeZone identifier: String, events: [CalendarEvent], stamp: Date
    ) throws(SchedulerError) -> String {
        guard let zone = TimeZone(identifier: identifier) else {
            throw SchedulerError(.invalidArgument, "unknown time zone \(identifier)", field: "time_zone")
        }
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//SOS Children's Villages//sosched//EN", "CALSCALE:GREGORIAN",
            "X-WR-CALNAME:" + escape(name),
        ]
        let first = events.map(\.date).min() ?? CivilDate(dayNumber: Int(stamp.timeIntervalSince1970 / 86_400))
        let last = events.map(\.date).max() ?? first
        lines += timeZoneLines(zone, from: first.adding(days: -1), to: last.adding(days: 2))
        let stampText = utcText(stamp)
        for event in events.sorted(by: { ($0.date, $0.start, $0.uid) < ($1.date, $1.start, $1.uid) }) {
            let end = localText(event.date, event.start + event.minutes)
            lines += [
                "BEGIN:VEVENT",
                "UID:" + escape(event.uid),
                "DTSTAMP:" + stampText,
                "DTSTART;TZID=\(identifier):" + localText(event.date, event.start),
                "DTEND;TZID=\(identifier):" + end,
                "SUMMARY:" + escape(event.summary),
            ]
            // An event without a place (a mentor session) has no LOCATION.
            if !event.location.isEmpty { lines.append("LOCATION:" + escape(event.location)) }
            lines += [
                "SEQUENCE:\(event.sequence)",
                "STATUS:" + (event.cancelled ? "CANCELLED" : "CONFIRMED"),
                "END:VEVENT",
            ]
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined()
    }

    /// TEXT escaping (RFC 5545 3.3.11): backslash, semicolon, comma, newline.
    public static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n", "\r\n": out += "\\n"
            case "\r": break
            default:
                // Other control characters are not allowed in TEXT.
                if let ascii = character.asciiValue, ascii < 0x20 || ascii == 0x7F { continue }
                out.append(character)
            }
        }
        return out
    }

    /// One content line, folded at 75 octets (continuation lines start with a space), with CRLF.
    public static func fold(_ line: String) -> String {
        var out = ""
        var octets = 0
        for scalar in line.unicodeScalars {
            let size = String(scalar).utf8.count
            if octets + size > 75 {
                out += "\r\n "
                octets = 1
            }
            out.unicodeScalars.append(scalar)
            octets += size
        }
        return out + "\r\n"
    }

    /// 20261124T090000 for a civil date and minutes from its midnight (24:00 is the next day).
    static func localText(_ date: CivilDate, _ minutes: Int) -> String {
        let day = date.adding(days: minutes / TimeGrid.dayMinutes)
        let rest = minutes % TimeGrid.dayMinutes
        let (y, m, d) = day.components
        return String(format: "%04d%02d%02dT%02d%02d00", y, m, d, rest / 60, rest % 60)
    }

    static func utcText(_ instant: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    static func offsetText(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let value = abs(seconds)
        return sign + String(format: "%02d%02d", value / 3600, (value % 3600) / 60)
    }

    /// A VTIMEZONE for the span: the offset in force at its start, then one observance per
    /// transition inside it (each with its local start), all from the time-zone database.
    static func timeZoneLines(_ zone: TimeZone, from: CivilDate, to: CivilDate) -> [String] {
        let startInstant = Date(timeIntervalSince1970: TimeInterval(from.dayNumber) * 86_400 - 14 * 3600)
        let endInstant = Date(timeIntervalSince1970: TimeInterval(to.dayNumber) * 86_400 + 14 * 3600)
        var lines = ["BEGIN:VTIMEZONE", "TZID:" + zone.identifier]
        var offset = zone.secondsFromGMT(for: startInstant)
        // The offset in force from before the span.
        lines += observance(zone, at: startInstant, from: offset, to: offset, local: startInstant.addingTimeInterval(TimeInterval(offset)))
        var instant = startInstant
        while let next = zone.nextDaylightSavingTimeTransition(after: instant), next < endInstant {
            let newOffset = zone.secondsFromGMT(for: next)
            lines += observance(zone, at: next, from: offset, to: newOffset, local: next.addingTimeInterval(TimeInterval(offset)))
            offset = newOffset
            instant = next
        }
        lines.append("END:VTIMEZONE")
        return lines
    }

    private static func observance(_ zone: TimeZone, at instant: Date, from: Int, to: Int, local: Date) -> [String] {
        let kind = zone.isDaylightSavingTime(for: instant) ? "DAYLIGHT" : "STANDARD"
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: local)
        let start = String(format: "%04d%02d%02dT%02d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        // The name from the offset ("+05", "+0530"): Foundation's abbreviations on Linux give the
        // zone's current offset for every date, which is wrong before a change of offset.
        let full = offsetText(to)
        let name = full.hasSuffix("00") ? String(full.dropLast(2)) : full
        return [
            "BEGIN:\(kind)", "DTSTART:" + start, "TZOFFSETFROM:" + offsetText(from), "TZOFFSETTO:" + offsetText(to), "TZNAME:" + escape(name),
            "END:\(kind)",
        ]
    }
}
