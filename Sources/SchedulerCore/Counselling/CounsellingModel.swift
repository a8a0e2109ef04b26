/// Counsellor sessions (domain.md, "Counsellor sessions"): homes, young people, counsellors,
/// their weekly availability and the sessions planned for them. Times are minutes from
/// midnight in the site's zone, on a 15-minute grid.

/// The grid every time of this domain is on.
public enum TimeGrid {
    public static let minutes = 15
    public static let dayMinutes = 24 * 60

    /// "HH:MM" as minutes from midnight, on the grid; "24:00" is the end of the day.
    public static func minutes(parsing text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0...24).contains(hours), (0..<60).contains(minutes)
        else { return nil }
        let total = hours * 60 + minutes
        guard total <= dayMinutes, total % Self.minutes == 0 else { return nil }
        return total
    }

    public static func text(_ minutes: Int) -> String {
        let hours = minutes / 60
        let rest = minutes % 60
        return (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
    }
}

/// One weekly window: a weekday, from `start` to `end` minutes (start < end, both on the grid).
public struct WeeklyWindow: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var weekday: Weekday
    public var start: Int
    public var end: Int

    public init(weekday: Weekday, start: Int, end: Int) {
        self.weekday = weekday
        self.start = start
        self.end = end
    }

    /// "mon 09:00-12:30".
    public init?(parsing text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let day = Weekday(shortName: String(parts[0])) else { return nil }
        let times = parts[1].split(separator: "-")
        guard times.count == 2, let start = TimeGrid.minutes(parsing: String(times[0])), let end = TimeGrid.minutes(parsing: String(times[1])),
            start < end
        else { return nil }
        self.init(weekday: day, start: start, end: end)
    }

    public var description: String { "\(weekday.shortName) \(TimeGrid.text(start))-\(TimeGrid.text(end))" }

    public static func < (lhs: WeeklyWindow, rhs: WeeklyWindow) -> Bool {
        (lhs.weekday, lhs.start, lhs.end) < (rhs.weekday, rhs.start, rhs.end)
    }
}

/// When someone can meet: weekly windows, minus whole dates they are away.
public struct Availability: Sendable, Hashable, Codable {
    public var windows: [WeeklyWindow]
    /// Dates on which they are not available at all (holidays, absence).
    public var awayDates: Set<CivilDate>

    /// Windows that touch on a weekday ("mon 10:00-11:00" and "mon 11:00-12:00") become one, so
    /// a session may run across the join.
    public init(windows: [WeeklyWindow] = [], awayDates: Set<CivilDate> = []) {
        var joined: [WeeklyWindow] = []
        for window in windows.sorted() {
            if let last = joined.last, last.weekday == window.weekday, last.end == window.start {
                joined[joined.count - 1].end = window.end
            } else {
                joined.append(window)
            }
        }
        self.windows = joined
        self.awayDates = awayDates
    }

    /// Checks the windows: on the grid, inside the day, not overlapping on a weekday.
    public func validate(field: String) throws(SchedulerError) {
        let sorted = windows.sorted()
        for (index, window) in sorted.enumerated() {
            guard window.start >= 0, window.end <= TimeGrid.dayMinutes, window.start < window.end,
                window.start % TimeGrid.minutes == 0, window.end % TimeGrid.minutes == 0
            else {
                throw SchedulerError(.invalidArgument, "window \(window) is not on the 15-minute grid of one day", field: field)
            }
            if index > 0, sorted[index - 1].weekday == window.weekday, sorted[index - 1].end > window.start {
                throw SchedulerError(.invalidArgument, "windows \(sorted[index - 1]) and \(window) overlap", field: field)
            }
        }
    }

    /// For planning one week, whose every weekday is one date: the windows with `busy` (times
    /// taken on dates of that week, such as mentor sessions) cut out of their weekday.
    public func cuttingOut(_ busy: [BusyInterval]) -> Availability {
        var windows = self.windows
        for taken in busy {
            let day = taken.date.weekday
            windows = windows.flatMap { window -> [WeeklyWindow] in
                guard window.weekday == day, window.start < taken.end, taken.start < window.end else { return [window] }
                var parts: [WeeklyWindow] = []
                if window.start < taken.start { parts.append(WeeklyWindow(weekday: day, start: window.start, end: taken.start)) }
                if taken.end < window.end { parts.append(WeeklyWindow(weekday: day, start: taken.end, end: window.end)) }
                return parts
            }
        }
        return Availability(windows: windows, awayDates: awayDates)
    }

    /// The windows open on `date`: none on an away date.
    public func windows(on date: CivilDate) -> [WeeklyWindow] {
        guard !awayDates.contains(date) else { return [] }
        let day = date.weekday
        return windows.filter { $0.weekday == day }
    }
}

public struct Home: Sendable, Hashable, Codable {
    public var id: String
    public var siteID: String
    public var name: String

    public init(id: String, siteID: String, name: String) {
        self.id = id
        self.siteID = siteID
        self.name = name
    }
}

public struct YoungPerson: Sendable, Hashable, Codable {
    public var id: String
    public var homeID: String
    public var name: String
    public var birthDate: CivilDate?
    public var availability: Availability
    /// 1 to 3.
    public var sessionsPerWeek: Int
    /// Default 60; on the grid.
    public var minutesPerSession: Int
    public var preferredCounsellorID: String?
    public var requiredQualifications: Set<String>

    public init(
        id: String, homeID: String, name: String = "", birthDate: CivilDate? = nil, availability: Availability, sessionsPerWeek: Int = 1,
        minutesPerSession: Int = 60, preferredCounsellorID: String? = nil, requiredQualifications: Set<String> = []
    ) {
        self.id = id
        self.homeID = homeID
        self.name = name
        self.birthDate = birthDate
        self.availability = availability
        self.sessionsPerWeek = sessionsPerWeek
        self.minutesPerSession = minutesPerSession
        self.preferredCounsellorID = preferredCounsellorID
        self.requiredQualifications = requiredQualifications
    }
}

public struct Counsellor: Sendable, Hashable, Codable {
    public var id: String
    public var siteID: String
    public var name: String
    public var availability: Availability
    public var qualifications: Set<String>
    public var maxSessionsPerWeek: Int
    public var maxMinutesPerDay: Int

    public init(
        id: String, siteID: String, name: String = "", availability: Availability, qualifications: Set<String> = [], maxSessionsPerWeek: Int = 20,
        maxMinutesPerDay: Int = 360
    ) {
        self.id = id
        self.siteID = siteID
        self.name = name
        self.availability = availability
        self.qualifications = qualifications
        self.maxSessionsPerWeek = maxSessionsPerWeek
        self.maxMinutesPerDay = maxMinutesPerDay
    }

    public func isQualified(for person: YoungPerson) -> Bool { person.requiredQualifications.isSubset(of: qualifications) }
}

public enum SessionStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case scheduled = "SCHEDULED"
    case done = "DONE"
    case cancelled = "CANCELLED"
}

/// One counselling session.
public struct CounsellingSession: Sendable, Hashable, Codable {
    public var id: String
    public var youngPersonID: String
    public var counsellorID: String
    public var date: CivilDate
    /// Minutes from midnight, on the grid.
    public var start: Int
    public var minutes: Int
    /// The home the session is held at (the young person's unless stated).
    public var homeID: String
    public var status: SessionStatus
    /// Set by hand: planning never moves it.
    public var pinned: Bool

    public init(
        id: String, youngPersonID: String, counsellorID: String, date: CivilDate, start: Int, minutes: Int, homeID: String,
        status: SessionStatus = .scheduled, pinned: Bool = false
    ) {
        self.id = id
        self.youngPersonID = youngPersonID
        self.counsellorID = counsellorID
        self.date = date
        self.start = start
        self.minutes = minutes
        self.homeID = homeID
        self.status = status
        self.pinned = pinned
    }

    public var end: Int { start + minutes }
}
