import Foundation
import SchedulerCore

/// What both stores do the same way for counsellor sessions: the stored form of young people
/// and counsellors (a JSON text of their own shape, not the core's `Codable` one, so a change to
/// the core cannot make stored rows unreadable), and the checks of a create, an update, an
/// import and a write once the store has loaded the records they name.
extension StoreRules {
    // MARK: Stored forms

    /// A young person's `data` column: everything but the id and home, which have columns.
    struct YoungPersonData: Codable, StoredJSONDecodable {
        var name: String
        var birthDay: Int?
        var windows: [[Int]]
        var awayDays: [Int]
        var sessionsPerWeek: Int
        var minutesPerSession: Int
        var preferredCounsellorID: String?
        var requiredQualifications: [String]

        init(
            name: String, birthDay: Int?, windows: [[Int]], awayDays: [Int], sessionsPerWeek: Int, minutesPerSession: Int, preferredCounsellorID: String?,
            requiredQualifications: [String]
        ) {
            self.name = name
            self.birthDay = birthDay
            self.windows = windows
            self.awayDays = awayDays
            self.sessionsPerWeek = sessionsPerWeek
            self.minutesPerSession = minutesPerSession
            self.preferredCounsellorID = preferredCounsellorID
            self.requiredQualifications = requiredQualifications
        }

        init?(json: StoredJSON) {
            guard let name = json["name"]?.string, let windows = json["windows"]?.intArrays, let awayDays = json["away_days"]?.ints,
                let sessionsPerWeek = json["sessions_per_week"]?.int, let minutesPerSession = json["minutes_per_session"]?.int,
                let requiredQualifications = json["required_qualifications"]?.strings,
                let birthDay = StoredJSON.optional(json["birth_day"], \.int),
                let preferredCounsellorID = StoredJSON.optional(json["preferred_counsellor_id"], \.string)
            else { return nil }
            self.init(
                name: name, birthDay: birthDay, windows: windows, awayDays: awayDays, sessionsPerWeek: sessionsPerWeek, minutesPerSession: minutesPerSession,
                preferredCounsellorID: preferredCounsellorID, requiredQualifications: requiredQualifications)
        }

        enum CodingKeys: String, CodingKey {
            case name, windows
            case birthDay = "birth_day"
            case awayDays = "away_days"
            case sessionsPerWeek = "sessions_per_week"
            case minutesPerSession = "minutes_per_session"
            case preferredCounsellorID = "preferred_counsellor_id"
            case requiredQualifications = "required_qualifications"
        }
    }

    /// A counsellor's `data` column: everything but the id and site, which have columns.
    struct CounsellorData: Codable, StoredJSONDecodable {
        var name: String
        var windows: [[Int]]
        var awayDays: [Int]
        var qualifications: [String]
        var maxSessionsPerWeek: Int
        var maxMinutesPerDay: Int

        init(name: String, windows: [[Int]], awayDays: [Int], qualifications: [String], maxSessionsPerWeek: Int, maxMinutesPerDay: Int) {
            self.name = name
            self.windows = windows
            self.awayDays = awayDays
            self.qualifications = qualifications
            self.maxSessionsPerWeek = maxSessionsPerWeek
            self.maxMinutesPerDay = maxMinutesPerDay
        }

        init?(json: StoredJSON) {
            guard let name = json["name"]?.string, let windows = json["windows"]?.intArrays, let awayDays = json["away_days"]?.ints,
                let qualifications = json["qualifications"]?.strings, let maxSessionsPerWeek = json["max_sessions_per_week"]?.int,
                let maxMinutesPerDay = json["max_minutes_per_day"]?.int
            else { return nil }
            self.init(
                name: name, windows: windows, awayDays: awayDays, qualifications: qualifications, maxSessionsPerWeek: maxSessionsPerWeek,
                maxMinutesPerDay: maxMinutesPerDay)
        }

        enum CodingKeys: String, CodingKey {
            case name, windows, qualifications
            case awayDays = "away_days"
            case maxSessionsPerWeek = "max_sessions_per_week"
            case maxMinutesPerDay = "max_minutes_per_day"
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        // The same record is always the same text (sets are stored sorted).
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A stored form the parser reads fast, or `JSONDecoder` (which decides) when it gives up.
    static func decoded<T: StoredJSONDecodable>(_ type: T.Type, _ text: String, _ column: String) throws -> T {
        if let json = StoredJSON.parse(text), let value = T(json: json) { return value }
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw unreadable(column, "not the record's JSON")
        }
    }

    static func windowsData(_ availability: Availability) -> [[Int]] {
        availability.windows.sorted().map { [$0.weekday.rawValue, $0.start, $0.end] }
    }

    static func availability(windows: [[Int]], awayDays: [Int], _ column: String) throws -> Availability {
        let windows = try windows.map { window in
            guard window.count == 3, let weekday = Weekday(rawValue: window[0]) else { throw unreadable(column, "a window is not [weekday, start, end]") }
            return WeeklyWindow(weekday: weekday, start: window[1], end: window[2])
        }
        let away = try awayDays.map { try storedDay($0, column) }
        return Availability(windows: windows, awayDates: Set(away))
    }

    static func youngPersonData(_ person: YoungPerson) throws -> String {
        try json(
            YoungPersonData(
                name: person.name, birthDay: person.birthDate?.dayNumber, windows: windowsData(person.availability),
                awayDays: person.availability.awayDates.map(\.dayNumber).sorted(), sessionsPerWeek: person.sessionsPerWeek,
                minutesPerSession: person.minutesPerSession, preferredCounsellorID: person.preferredCounsellorID,
                requiredQualifications: person.requiredQualifications.sorted()))
    }

    static func youngPerson(id: String, homeID: String, data: String) throws -> YoungPerson {
        let stored = try decoded(YoungPersonData.self, data, "young_person.data")
        return YoungPerson(
            id: id, homeID: homeID, name: stored.name, birthDate: try stored.birthDay.map { try storedDay($0, "young_person.data") },
            availability: try availability(windows: stored.windows, awayDays: stored.awayDays, "young_person.data"),
            sessionsPerWeek: stored.sessionsPerWeek, minutesPerSession: stored.minutesPerSession, preferredCounsellorID: stored.preferredCounsellorID,
            requiredQualifications: Set(stored.requiredQualifications))
    }

    static func counsellorData(_ counsellor: Counsellor) throws -> String {
        try json(
            CounsellorData(
                name: counsellor.name, windows: windowsData(counsellor.availability),
                awayDays: counsellor.availability.awayDates.map(\.dayNumber).sorted(), qualifications: counsellor.qualifications.sorted(),
                maxSessionsPerWeek: counsellor.maxSessionsPerWeek, maxMinutesPerDay: counsellor.maxMinutesPerDay))
    }

    static func counsellor(id: String, siteID: String, data: String) throws -> Counsellor {
        let stored = try decoded(CounsellorData.self, data, "counsellor.data")
        return Counsellor(
            id: id, siteID: siteID, name: stored.name, availability: try availability(windows: stored.windows, awayDays: stored.awayDays, "counsellor.data"),
            qualifications: Set(stored.qualifications), maxSessionsPerWeek: stored.maxSessionsPerWeek, maxMinutesPerDay: stored.maxMinutesPerDay)
    }

    static func session(
        id: String, siteID: String, youngPersonID: String, counsellorID: String, homeID: String, day: Int, start: Int, minutes: Int, status: String,
        pinned: Bool, sequence: Int
    ) throws -> StoredSession {
        guard let status = SessionStatus(rawValue: status) else { throw unreadable("counselling_session.status", "not a session status") }
        return StoredSession(
            session: CounsellingSession(
                id: id, youngPersonID: youngPersonID, counsellorID: counsellorID, date: try storedDay(day, "counselling_session.day"),
                start: try stored(start, "counselling_session.start_minute"), minutes: try stored(minutes, "counselling_session.minutes"), homeID: homeID,
                status: status, pinned: pinned),
            siteID: siteID, sequence: try stored(sequence, "counselling_session.sequence"))
    }

    /// The sessions cursor-free order: by date, start and id.
    static func sessionOrder(_ a: StoredSession, _ b: StoredSession) -> Bool {
        (a.session.date.dayNumber, a.session.start, a.id) < (b.session.date.dayNumber, b.session.start, b.id)
    }

    // MARK: Checks

    /// The site each of some records is at, by id, as stored (ids not stored are absent).
    struct CounsellingSites: Sendable {
        var homes: [String: String] = [:]
        var youngPeople: [String: String] = [:]
        var counsellors: [String: String] = [:]
        var sessions: [String: String] = [:]
    }

    /// A new or changed young person's preferred counsellor must be a counsellor of its site:
    /// `counsellorSite` is that counsellor's site, nil if there is none.
    static func checkPreferredCounsellor(_ id: String?, counsellorSite: String?, siteID: String, field: String) throws {
        guard let id else { return }
        guard let counsellorSite else { throw SchedulerError.missing("counsellor", id, field: field) }
        guard counsellorSite == siteID else {
            throw SchedulerError(.failedPrecondition, "counsellor \(id) works at site \(counsellorSite), not at site \(siteID)", field: field)
        }
    }

    /// A young person as it will be stored: an empty preferred counsellor id is none.
    static func normalized(_ person: YoungPerson) -> YoungPerson {
        var person = person
        if person.preferredCounsellorID?.isEmpty == true { person.preferredCounsellorID = nil }
        return person
    }

    /// A young person's home after an update must be at the site they are at.
    static func checkSameSite(homeID: String, homeSite: String?, siteID: String, field: String) throws {
        guard let homeSite else { throw SchedulerError.missing("home", homeID, field: field) }
        guard homeSite == siteID else {
            throw SchedulerError(
                .failedPrecondition, "home \(homeID) is at site \(homeSite); a young person moves only between homes of their site (\(siteID))", field: field)
        }
    }

    /// The ids an import's checks need the stored sites of.
    static func importLookups(homes: [Home], youngPeople: [YoungPerson], counsellors: [Counsellor]) -> (
        homes: [String], youngPeople: [String], counsellors: [String]
    ) {
        let homeIDs = Set(homes.map(\.id)).union(youngPeople.map(\.homeID))
        let counsellorIDs = Set(counsellors.map(\.id)).union(youngPeople.compactMap { normalized($0).preferredCounsellorID })
        return (homeIDs.sorted(), Set(youngPeople.map(\.id)).sorted(), counsellorIDs.sorted())
    }

    /// An import's records as they will be stored at `siteID`, checked against the stored sites
    /// of the records they name, with its counts and audit records; the first fault is thrown,
    /// naming the record's index.
    static func checkImport(siteID: String, homes: [Home], youngPeople: [YoungPerson], counsellors: [Counsellor], stored: CounsellingSites) throws -> (
        homes: [Home], youngPeople: [YoungPerson], counsellors: [Counsellor], counts: CounsellingImportCounts, records: [String]
    ) {
        var counts = CounsellingImportCounts()
        var records: [String] = []
        func checkID(_ id: String, _ field: String, seen: inout Set<String>, storedSite: String?, what: String) throws -> Bool {
            guard !id.isEmpty else { throw SchedulerError(.invalidArgument, "an imported \(what) needs an id", field: field) }
            guard seen.insert(id).inserted else { throw SchedulerError(.invalidArgument, "\(what) \(id) is in the import twice", field: field) }
            if let storedSite, storedSite != siteID {
                throw SchedulerError(
                    .failedPrecondition, "\(what) \(id) is at site \(storedSite); an import replaces records of site \(siteID) only", field: field)
            }
            return storedSite != nil
        }
        var seen = Set<String>()
        var newHomes: [Home] = []
        for (index, home) in homes.enumerated() {
            let replaced = try checkID(home.id, "homes[\(index)].id", seen: &seen, storedSite: stored.homes[home.id], what: "home")
            if replaced { counts.homesReplaced += 1 } else { counts.homesCreated += 1 }
            newHomes.append(Home(id: home.id, siteID: siteID, name: home.name))
            records.append("home:\(home.id)")
        }
        seen = []
        var newCounsellors: [Counsellor] = []
        for (index, counsellor) in counsellors.enumerated() {
            let replaced = try checkID(
                counsellor.id, "counsellors[\(index)].id", seen: &seen, storedSite: stored.counsellors[counsellor.id], what: "counsellor")
            if replaced { counts.counsellorsReplaced += 1 } else { counts.counsellorsCreated += 1 }
            var counsellor = counsellor
            counsellor.siteID = siteID
            newCounsellors.append(counsellor)
            records.append("counsellor:\(counsellor.id)")
        }
        let batchHomes = Set(homes.map(\.id)), batchCounsellors = Set(counsellors.map(\.id))
        seen = []
        var newPeople: [YoungPerson] = []
        for (index, person) in youngPeople.enumerated() {
            let person = normalized(person)
            let replaced = try checkID(person.id, "young_people[\(index)].id", seen: &seen, storedSite: stored.youngPeople[person.id], what: "young person")
            if !batchHomes.contains(person.homeID) {
                try checkSameSite(homeID: person.homeID, homeSite: stored.homes[person.homeID], siteID: siteID, field: "young_people[\(index)].home_id")
            }
            if let preferred = person.preferredCounsellorID, !batchCounsellors.contains(preferred) {
                try checkPreferredCounsellor(
                    preferred, counsellorSite: stored.counsellors[preferred], siteID: siteID, field: "young_people[\(index)].preferred_counsellor_id")
            }
            if replaced { counts.youngPeopleReplaced += 1 } else { counts.youngPeopleCreated += 1 }
            newPeople.append(person)
            records.append("young_person:\(person.id)")
        }
        return (newHomes, newPeople, newCounsellors, counts, records)
    }

    /// The ids a write's checks need the stored sites of.
    static func writeLookups(_ write: CounsellingWrite) -> (homes: [String], youngPeople: [String], counsellors: [String], sessions: [String]) {
        let sessions = write.sessions.map(\.session)
        return (
            Set(sessions.map(\.homeID)).sorted(), Set(sessions.map(\.youngPersonID)).sorted(),
            Set(sessions.map(\.counsellorID)).union(write.counsellors.map(\.id)).sorted(), Set(sessions.map(\.id).filter { !$0.isEmpty }).sorted()
        )
    }

    /// A write's sessions (one per id, the last given; an empty id gets a new one) and
    /// counsellors as they will be stored, checked against the stored sites of the records they
    /// name, and its audit records.
    static func checkWrite(siteID: String, _ write: CounsellingWrite, stored: CounsellingSites) throws -> (
        sessions: [StoredSession], counsellors: [Counsellor], records: [String]
    ) {
        func check(_ id: String, _ what: String, _ site: String?, field: String) throws {
            guard let site else { throw SchedulerError.missing(what, id, field: field) }
            guard site == siteID else { throw SchedulerError(.failedPrecondition, "\(what) \(id) is at site \(site), not at site \(siteID)", field: field) }
        }
        var sessions: [StoredSession] = []
        var position: [String: Int] = [:]
        for (index, given) in write.sessions.enumerated() {
            var session = given
            guard given.siteID == siteID else {
                throw SchedulerError(
                    .failedPrecondition, "session \(given.id) is for site \(given.siteID), not site \(siteID)", field: "sessions[\(index)].site_id")
            }
            if let site = stored.sessions[given.id], site != siteID {
                throw SchedulerError(.failedPrecondition, "session \(given.id) is at site \(site), not at site \(siteID)", field: "sessions[\(index)].id")
            }
            try check(given.session.youngPersonID, "young person", stored.youngPeople[given.session.youngPersonID], field: "sessions[\(index)].young_person_id")
            try check(given.session.counsellorID, "counsellor", stored.counsellors[given.session.counsellorID], field: "sessions[\(index)].counsellor_id")
            try check(given.session.homeID, "home", stored.homes[given.session.homeID], field: "sessions[\(index)].home_id")
            guard storedMinutes.contains(given.session.start), storedMinutes.contains(given.session.minutes),
                storedDays.contains(given.session.date.dayNumber), storedCounts.contains(given.sequence)
            else {
                throw SchedulerError(.invalidArgument, "session \(given.id) has a date, time, length or sequence out of range", field: "sessions[\(index)]")
            }
            if given.id.isEmpty { session.session.id = RecordID.make("ses") }
            if let earlier = position[session.id] {
                sessions[earlier] = session
            } else {
                position[session.id] = sessions.count
                sessions.append(session)
            }
        }
        var counsellors: [Counsellor] = []
        var counsellorPosition: [String: Int] = [:]
        for (index, counsellor) in write.counsellors.enumerated() {
            try check(counsellor.id, "counsellor", stored.counsellors[counsellor.id], field: "counsellors[\(index)].id")
            guard counsellor.siteID == siteID else {
                throw SchedulerError(
                    .failedPrecondition, "counsellor \(counsellor.id) cannot move to site \(counsellor.siteID)", field: "counsellors[\(index)].site_id")
            }
            if let earlier = counsellorPosition[counsellor.id] {
                counsellors[earlier] = counsellor
            } else {
                counsellorPosition[counsellor.id] = counsellors.count
                counsellors.append(counsellor)
            }
        }
        let records = sessions.map { "session:\($0.id)" } + counsellors.map { "counsellor:\($0.id)" } + write.records
        return (sessions, counsellors, records)
    }

    static func staleCounselling(siteID: String) -> SchedulerError {
        SchedulerError(.aborted, "the counselling records of site \(siteID) changed while this was decided; try again")
    }

    /// `sessions(counsellorID:youngPersonID:...)` needs one of them.
    static func sessionsFilterNeeded() -> SchedulerError {
        SchedulerError(.invalidArgument, "name a counsellor or a young person whose sessions to list", field: "counsellor_id")
    }
}
