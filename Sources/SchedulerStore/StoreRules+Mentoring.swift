import Foundation
import SchedulerCore

/// What both stores do the same way for mentor sessions: a mentor's stored form (a JSON text of
/// its own shape, as for counsellors, with its fields again in a column of their own,
/// `,crafts,it,`, to list mentors by field), a session's columns, the sessions' cursor, and the
/// checks of an import, a batch and a cancellation once the store has loaded what they name.
extension StoreRules {
    // MARK: Stored forms

    /// A mentor's `data` column: everything but the id and site, which have columns.
    struct MentorData: Codable, StoredJSONDecodable {
        var organisation: String
        var name: String
        var fields: [String]
        var capacity: Int
        var windows: [[Int]]
        var awayDays: [Int]
        var sessionMinutes: Int

        init(organisation: String, name: String, fields: [String], capacity: Int, windows: [[Int]], awayDays: [Int], sessionMinutes: Int) {
            self.organisation = organisation
            self.name = name
            self.fields = fields
            self.capacity = capacity
            self.windows = windows
            self.awayDays = awayDays
            self.sessionMinutes = sessionMinutes
        }

        init?(json: StoredJSON) {
            guard let organisation = json["organisation"]?.string, let name = json["name"]?.string, let fields = json["fields"]?.strings,
                let capacity = json["capacity"]?.int, let windows = json["windows"]?.intArrays, let awayDays = json["away_days"]?.ints,
                let sessionMinutes = json["session_minutes"]?.int
            else { return nil }
            self.init(
                organisation: organisation, name: name, fields: fields, capacity: capacity, windows: windows, awayDays: awayDays,
                sessionMinutes: sessionMinutes)
        }

        enum CodingKeys: String, CodingKey {
            case organisation, name, fields, capacity, windows
            case awayDays = "away_days"
            case sessionMinutes = "session_minutes"
        }
    }

    static func mentorData(_ mentor: Mentor) throws -> String {
        try json(
            MentorData(
                organisation: mentor.organisation, name: mentor.name, fields: mentor.fields.sorted(), capacity: mentor.capacity,
                windows: windowsData(mentor.availability), awayDays: mentor.availability.awayDates.map(\.dayNumber).sorted(),
                sessionMinutes: mentor.sessionMinutes))
    }

    static func mentor(id: String, siteID: String, data: String) throws -> Mentor {
        let stored = try decoded(MentorData.self, data, "mentor.data")
        guard storedCounts.contains(stored.capacity) else { throw unreadable("mentor.data", "capacity \(stored.capacity) is outside \(storedCounts)") }
        guard storedMinutes.contains(stored.sessionMinutes) else {
            throw unreadable("mentor.data", "session_minutes \(stored.sessionMinutes) is outside \(storedMinutes)")
        }
        return Mentor(
            id: id, siteID: siteID, organisation: stored.organisation, name: stored.name, fields: Set(stored.fields), capacity: stored.capacity,
            availability: try availability(windows: stored.windows, awayDays: stored.awayDays, "mentor.data"), sessionMinutes: stored.sessionMinutes)
    }

    /// The `fields` column: the fields sorted, each between commas (`,crafts,it,`); a mentor has
    /// a field when the column contains `,FIELD,` (`mentorFieldNeedle`), found by `instr` or
    /// `strpos`, not `LIKE`, whose `_` would match any character.
    static func mentorFieldsText(_ fields: Set<String>) -> String { "," + fields.sorted().joined(separator: ",") + "," }

    /// What `fields` contains when the mentor has `field`; nil for a field no mentor can have
    /// (one with a comma, which the stores refuse to store).
    static func mentorFieldNeedle(_ field: String) -> String? { field.contains(",") ? nil : "," + field + "," }

    static func mentorSession(
        id: String, siteID: String, mentorID: String, youngPersonID: String, batchID: String?, day: Int, start: Int, minutes: Int, status: String,
        sequence: Int
    ) throws -> StoredMentorSession {
        guard let status = MentorSessionStatus(rawValue: status) else { throw unreadable("mentor_session.status", "not a mentor session status") }
        // The ranges of `storedRanges`, checked without looking them up: a snapshot reads tens of
        // thousands of sessions.
        func checked(_ value: Int, _ range: ClosedRange<Int>, _ column: String) throws -> Int {
            guard range.contains(value) else { throw unreadable(column, "\(value) is outside \(range.lowerBound)-\(range.upperBound)") }
            return value
        }
        return StoredMentorSession(
            session: MentorSession(
                id: id, mentorID: mentorID, youngPersonID: youngPersonID, date: CivilDate(dayNumber: try checked(day, storedDays, "mentor_session.day")),
                start: try checked(start, storedMinutes, "mentor_session.start_minute"),
                minutes: try checked(minutes, storedMinutes, "mentor_session.minutes"), batchID: batchID),
            siteID: siteID, status: status, sequence: try checked(sequence, storedCounts, "mentor_session.sequence"))
    }

    static func mentorBatch(id: String, siteID: String, inputDigest: [UInt8], answer: [UInt8], createdAtMS: Int64) -> StoredMentorBatch {
        StoredMentorBatch(id: id, siteID: siteID, inputDigest: inputDigest, answer: answer, createdAt: Date(millisecondsSince1970: createdAtMS))
    }

    /// The mentor sessions cursor `DAY:START:ID` (sessions are listed by date, start and id);
    /// nil for the first page.
    static func mentorSessionCursor(_ after: String?) throws -> (day: Int, start: Int, id: String)? {
        guard let after else { return nil }
        let parts = after.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let day = Int(parts[0]), let start = Int(parts[1]), storedDays.contains(day), storedMinutes.contains(start) else {
            throw SchedulerError(.invalidArgument, "page_token is not one this server gave out", field: "page_token")
        }
        return (day, start, String(parts[2]))
    }

    static func mentorSessionCursor(of stored: StoredMentorSession) -> String {
        "\(stored.session.date.dayNumber):\(stored.session.start):\(stored.id)"
    }

    // MARK: Checks

    /// A mentor as the store can hold it and read it back (the server checks the domain's
    /// limits before): fields without commas (they go into the `fields` column between commas),
    /// a capacity, a session length and away dates inside what a stored mentor may hold.
    /// `field` names the mentor in the request (`mentor`, `mentors[3]`).
    static func checkMentor(_ mentor: Mentor, field: String) throws {
        if let bad = mentor.fields.sorted().first(where: { $0.contains(",") }) {
            throw SchedulerError(.invalidArgument, "field \"\(bad)\" holds a comma; a field is a word such as it or finance", field: field + ".fields")
        }
        guard storedCounts.contains(mentor.capacity) else {
            throw SchedulerError(.invalidArgument, "capacity \(mentor.capacity) is outside \(storedCounts)", field: field + ".capacity")
        }
        guard storedMinutes.contains(mentor.sessionMinutes) else {
            throw SchedulerError(.invalidArgument, "session length \(mentor.sessionMinutes) is outside \(storedMinutes)", field: field + ".session_minutes")
        }
        guard mentor.availability.awayDates.allSatisfy({ storedDays.contains($0.dayNumber) }) else {
            throw SchedulerError(.invalidArgument, "an away date is outside the years 1 to 9999", field: field + ".away_dates")
        }
    }

    /// An import's mentors as they will be stored at `siteID`, checked against the stored sites of
    /// their ids (`stored`, mentor id -> site), with its counts and audit records; the first fault
    /// is thrown, naming the mentor's index.
    static func checkMentorImport(siteID: String, mentors: [Mentor], stored: [String: String]) throws -> (
        mentors: [Mentor], counts: MentorImportCounts, records: [String]
    ) {
        var counts = MentorImportCounts()
        var seen = Set<String>()
        var checked: [Mentor] = []
        checked.reserveCapacity(mentors.count)
        for (index, given) in mentors.enumerated() {
            let field = "mentors[\(index)]"
            guard !given.id.isEmpty else { throw SchedulerError(.invalidArgument, "an imported mentor needs an id", field: field + ".id") }
            guard seen.insert(given.id).inserted else {
                throw SchedulerError(.invalidArgument, "mentor \(given.id) is in the import twice", field: field + ".id")
            }
            if let site = stored[given.id], site != siteID {
                throw SchedulerError(
                    .failedPrecondition, "mentor \(given.id) is at site \(site); an import replaces mentors of site \(siteID) only", field: field + ".id")
            }
            try checkMentor(given, field: field)
            if stored[given.id] == nil { counts.created += 1 } else { counts.replaced += 1 }
            var mentor = given
            mentor.siteID = siteID
            checked.append(mentor)
        }
        return (checked, counts, checked.map { "mentor:\($0.id)" })
    }

    /// The ids whose stored sites a batch's checks need: its mentors and young people.
    static func mentorBatchLookups(_ sessions: [StoredMentorSession]) -> (mentors: [String], youngPeople: [String]) {
        var mentors = Set<String>(), people = Set<String>()
        for stored in sessions {
            mentors.insert(stored.session.mentorID)
            people.insert(stored.session.youngPersonID)
        }
        return (mentors.sorted(), people.sorted())
    }

    /// A batch's sessions as they will be stored (an empty id gets a new one, `mses_...`; every
    /// session carries the batch's id), checked against the stored sites of their mentors and
    /// young people (id -> site). Ids already stored are found by the insert itself
    /// (`mentorSessionExists`).
    static func checkMentorBatch(_ batch: StoredMentorBatch, sessions: [StoredMentorSession], mentors: [String: String], youngPeople: [String: String])
        throws -> [StoredMentorSession]
    {
        guard !batch.id.isEmpty else { throw SchedulerError(.invalidArgument, "a saved batch needs an id", field: "batch_id") }
        let siteID = batch.siteID
        // Field names are made only for an error: a batch has 20,000 sessions.
        func check(_ id: String, _ what: String, _ site: String?, field: @autoclosure () -> String) throws {
            guard let site else { throw SchedulerError.missing(what, id, field: field()) }
            guard site == siteID else {
                throw SchedulerError(.failedPrecondition, "\(what) \(id) is at site \(site), not at site \(siteID)", field: field())
            }
        }
        var checked: [StoredMentorSession] = []
        checked.reserveCapacity(sessions.count)
        for (index, given) in sessions.enumerated() {
            func field(_ name: String = "") -> String { "sessions[\(index)]" + name }
            guard given.siteID == siteID else {
                throw SchedulerError(.failedPrecondition, "session \(given.id) is for site \(given.siteID), not site \(siteID)", field: field(".site_id"))
            }
            if let other = given.session.batchID, other != batch.id {
                throw SchedulerError(.invalidArgument, "session \(given.id) names batch \(other), not \(batch.id)", field: field(".batch_id"))
            }
            try check(given.session.mentorID, "mentor", mentors[given.session.mentorID], field: field(".mentor_id"))
            try check(given.session.youngPersonID, "young person", youngPeople[given.session.youngPersonID], field: field(".young_person_id"))
            try checkMentorSessionRanges(given, field: field())
            var session = given
            if session.id.isEmpty { session.session.id = RecordID.make("mses") }
            session.session.batchID = batch.id
            checked.append(session)
        }
        return checked
    }

    static func checkMentorSessionRanges(_ given: StoredMentorSession, field: @autoclosure () -> String) throws {
        let session = given.session
        guard storedMinutes.contains(session.start), storedMinutes.contains(session.minutes), storedDays.contains(session.date.dayNumber),
            storedCounts.contains(given.sequence)
        else {
            throw SchedulerError(.invalidArgument, "session \(given.id) has a date, time, length or sequence out of range", field: field())
        }
    }

    /// A session of a batch under an id that is stored already (or given twice).
    static func mentorSessionExists(_ id: String, index: Int) -> SchedulerError {
        SchedulerError(.alreadyExists, "a mentor session with id \(id) exists", field: "sessions[\(index)].id")
    }

    static func mentorBatchExists(_ id: String) -> SchedulerError {
        SchedulerError(.alreadyExists, "a batch with id \(id) is saved already", field: "batch_id")
    }

    static func staleMentoring(siteID: String) -> SchedulerError {
        SchedulerError(.aborted, "the counselling or mentoring records of site \(siteID) changed while this batch was decided; try again")
    }

    /// A cancellation's sessions (one per id, the last given) as they will be stored, checked
    /// against the stored ones (by id): each is at `siteID` and keeps its mentor, young person and
    /// batch; its date, time, status and sequence are replaced.
    static func checkMentorSessionWrite(siteID: String, _ sessions: [StoredMentorSession], stored: [String: StoredMentorSession]) throws
        -> [StoredMentorSession]
    {
        var checked: [StoredMentorSession] = []
        var position: [String: Int] = [:]
        for (index, given) in sessions.enumerated() {
            let field = "sessions[\(index)]"
            guard given.siteID == siteID else {
                throw SchedulerError(.failedPrecondition, "session \(given.id) is for site \(given.siteID), not site \(siteID)", field: field + ".site_id")
            }
            guard let old = stored[given.id] else { throw SchedulerError.missing("mentor session", given.id, field: field + ".id") }
            guard old.siteID == siteID else {
                throw SchedulerError(.failedPrecondition, "mentor session \(given.id) is at site \(old.siteID), not at site \(siteID)", field: field + ".id")
            }
            guard given.session.mentorID == old.session.mentorID, given.session.youngPersonID == old.session.youngPersonID,
                given.session.batchID == old.session.batchID
            else {
                throw SchedulerError(.failedPrecondition, "a mentor session keeps its mentor, young person and batch (\(given.id))", field: field)
            }
            try checkMentorSessionRanges(given, field: field)
            if let earlier = position[given.id] {
                checked[earlier] = given
            } else {
                position[given.id] = checked.count
                checked.append(given)
            }
        }
        return checked
    }
}
