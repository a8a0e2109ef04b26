import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

// Wire messages <-> core values for the counselling service. Every check names the request
// field, with its index in a list ("young_people[3].availability[0]").

extension Field {
    /// An id that may be empty on create (the store then makes one).
    static func optionalID(_ text: String, _ field: String) throws(SchedulerError) -> String {
        text.isEmpty ? "" : try id(text, field)
    }

    static func availability(_ windows: [String], awayDates: [String], _ prefix: String) throws(SchedulerError) -> Availability {
        guard windows.count <= 7 * 24 * 4 else {
            throw SchedulerError(.invalidArgument, "at most \(7 * 24 * 4) windows", field: "\(prefix).availability")
        }
        var parsed: [WeeklyWindow] = []
        for (index, text) in windows.enumerated() {
            guard let window = WeeklyWindow(parsing: text) else {
                throw SchedulerError(
                    .invalidArgument, "a window looks like 'mon 09:00-12:30' (on the 15-minute grid), not '\(text.prefix(40))'",
                    field: "\(prefix).availability[\(index)]")
            }
            parsed.append(window)
        }
        guard awayDates.count <= 1000 else { throw SchedulerError(.invalidArgument, "at most 1000 away dates", field: "\(prefix).away_dates") }
        var away: Set<CivilDate> = []
        for (index, text) in awayDates.enumerated() { away.insert(try date(text, "\(prefix).away_dates[\(index)]")) }
        let availability = Availability(windows: parsed, awayDates: away)
        try availability.validate(field: "\(prefix).availability")
        return availability
    }

    static func qualifications(_ names: [String], _ field: String) throws(SchedulerError) -> Set<String> {
        guard names.count <= 50 else { throw SchedulerError(.invalidArgument, "at most 50 qualifications", field: field) }
        var result: Set<String> = []
        for (index, name) in names.enumerated() { result.insert(try id(name, "\(field)[\(index)]")) }
        return result
    }

    static func time(_ text: String, _ field: String) throws(SchedulerError) -> Int {
        guard let minutes = TimeGrid.minutes(parsing: text), minutes < TimeGrid.dayMinutes else {
            throw SchedulerError(.invalidArgument, "\(field) must be a time HH:MM on the 15-minute grid, not '\(text.prefix(20))'", field: field)
        }
        return minutes
    }

    static func week(_ text: String, _ field: String) throws(SchedulerError) -> CivilDate {
        guard let monday = CivilDate(isoWeek: text) else {
            throw SchedulerError(.invalidArgument, "\(field) must be an ISO week such as 2026-W48, not '\(text.prefix(20))'", field: field)
        }
        return monday
    }

    /// A date range `from...to` of at most `days` days.
    static func range(_ from: String, _ to: String, days: Int) throws(SchedulerError) -> (CivilDate, CivilDate) {
        let first = try date(from, "from")
        let last = try date(to, "to")
        guard last >= first else { throw SchedulerError(.invalidArgument, "to is before from", field: "to") }
        guard last.dayNumber - first.dayNumber < days else { throw SchedulerError(.invalidArgument, "at most \(days) days at a time", field: "to") }
        return (first, last)
    }
}

extension HomeMessage {
    init(_ home: Home) { self.init(id: home.id, siteID: home.siteID, name: home.name) }

    func core(_ prefix: String = "home") throws(SchedulerError) -> Home {
        Home(id: try Field.optionalID(id, "\(prefix).id"), siteID: try Field.id(siteID, "\(prefix).site_id"), name: try Field.name(name, "\(prefix).name"))
    }
}

extension YoungPersonMessage {
    init(_ person: YoungPerson, siteID: String) {
        self.init(
            id: person.id, homeID: person.homeID, siteID: siteID, name: person.name, birthDate: person.birthDate?.description ?? "",
            availability: person.availability.windows.map(\.description), awayDates: person.availability.awayDates.sorted().map(\.description),
            sessionsPerWeek: UInt32(person.sessionsPerWeek), minutesPerSession: UInt32(person.minutesPerSession),
            preferredCounsellorID: person.preferredCounsellorID ?? "", requiredQualifications: person.requiredQualifications.sorted())
    }

    func core(_ prefix: String = "young_person") throws(SchedulerError) -> YoungPerson {
        let birth = try Field.optionalDate(birthDate, "\(prefix).birth_date")
        if let birth, birth.dayNumber > Int(Date().timeIntervalSince1970 / 86_400) + 1 {
            throw SchedulerError(.invalidArgument, "birth_date is in the future", field: "\(prefix).birth_date")
        }
        guard (1...3).contains(sessionsPerWeek) else {
            throw SchedulerError(.invalidArgument, "sessions_per_week must be 1 to 3", field: "\(prefix).sessions_per_week")
        }
        let minutes = minutesPerSession == 0 ? 60 : Int(minutesPerSession)
        guard (15...240).contains(minutes), minutes % TimeGrid.minutes == 0 else {
            throw SchedulerError(.invalidArgument, "minutes_per_session must be 15 to 240, on the 15-minute grid", field: "\(prefix).minutes_per_session")
        }
        return YoungPerson(
            id: try Field.optionalID(id, "\(prefix).id"), homeID: try Field.id(homeID, "\(prefix).home_id"), name: try Field.name(name, "\(prefix).name"),
            birthDate: birth,
            availability: try Field.availability(availability, awayDates: awayDates, prefix), sessionsPerWeek: Int(sessionsPerWeek),
            minutesPerSession: minutes,
            preferredCounsellorID: preferredCounsellorID.isEmpty ? nil : try Field.id(preferredCounsellorID, "\(prefix).preferred_counsellor_id"),
            requiredQualifications: try Field.qualifications(requiredQualifications, "\(prefix).required_qualifications"))
    }
}

extension CounsellorMessage {
    init(_ counsellor: Counsellor) {
        self.init(
            id: counsellor.id, siteID: counsellor.siteID, name: counsellor.name, availability: counsellor.availability.windows.map(\.description),
            awayDates: counsellor.availability.awayDates.sorted().map(\.description), qualifications: counsellor.qualifications.sorted(),
            maxSessionsPerWeek: UInt32(counsellor.maxSessionsPerWeek), maxMinutesPerDay: UInt32(counsellor.maxMinutesPerDay))
    }

    func core(_ prefix: String = "counsellor") throws(SchedulerError) -> Counsellor {
        let sessions = maxSessionsPerWeek == 0 ? 20 : Int(maxSessionsPerWeek)
        guard sessions <= 100 else { throw SchedulerError(.invalidArgument, "max_sessions_per_week is at most 100", field: "\(prefix).max_sessions_per_week") }
        let minutes = maxMinutesPerDay == 0 ? 360 : Int(maxMinutesPerDay)
        guard (15...TimeGrid.dayMinutes).contains(minutes) else {
            throw SchedulerError(.invalidArgument, "max_minutes_per_day is 15 to 1440", field: "\(prefix).max_minutes_per_day")
        }
        return Counsellor(
            id: try Field.optionalID(id, "\(prefix).id"), siteID: try Field.id(siteID, "\(prefix).site_id"), name: try Field.name(name, "\(prefix).name"),
            availability: try Field.availability(availability, awayDates: awayDates, prefix),
            qualifications: try Field.qualifications(qualifications, "\(prefix).qualifications"), maxSessionsPerWeek: sessions, maxMinutesPerDay: minutes)
    }
}

extension ProtoSessionStatus {
    init(_ status: SessionStatus) {
        switch status {
        case .scheduled: self = .sessionScheduled
        case .done: self = .sessionDone
        case .cancelled: self = .sessionCancelled
        }
    }
}

extension CounsellingSessionMessage {
    init(_ stored: StoredSession) {
        let session = stored.session
        self.init(
            id: session.id, siteID: stored.siteID, youngPersonID: session.youngPersonID, counsellorID: session.counsellorID, homeID: session.homeID,
            date: session.date.description, start: TimeGrid.text(session.start), minutes: UInt32(session.minutes), status: ProtoSessionStatus(session.status),
            pinned: session.pinned, sequence: UInt32(clamping: stored.sequence))
    }
}

extension PlanScoreMessage {
    init(_ score: PlanScore) {
        self.init(
            placed: UInt32(clamping: score.placed), continuity: UInt32(clamping: score.continuity), visits: UInt32(clamping: score.visits),
            loadSquares: UInt64(clamping: score.loadSquares))
    }
}

extension UnplacedSessionMessage {
    init(_ unplaced: UnplacedSession) {
        let reason: ProtoUnplacedReason
        switch unplaced.reason {
        case .noQualifiedCounsellor: reason = .noQualifiedCounsellor
        case .noSharedFreeTime: reason = .noSharedFreeTime
        case .counsellorsFull: reason = .counsellorsFull
        }
        // A large site can involve hundreds of counsellors per young person: ids are capped, so
        // thousands of unplaced sessions stay a message of reasonable size.
        let involved = unplaced.counsellorIDs
        let named = involved.prefix(3).joined(separator: ", ") + (involved.count > 3 ? " and \(involved.count - 3) more" : "")
        let who = involved.isEmpty ? "" : " (counsellors \(named))"
        let lacks = unplaced.missing == 1 ? "1 session" : "\(unplaced.missing) sessions"
        self.init(
            youngPersonID: unplaced.youngPersonID, missing: UInt32(clamping: unplaced.missing), reason: reason, counsellorIDs: Array(involved.prefix(10)),
            message: "young person \(unplaced.youngPersonID) lacks \(lacks): \(unplaced.reason.rawValue)\(who)",
            counsellorsInvolved: UInt32(clamping: involved.count))
    }
}
