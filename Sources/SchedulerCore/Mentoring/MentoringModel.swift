/// Mentor sessions (domain.md, "Mentor sessions"): mentors, the items of a batch, the pairs the
/// batch makes and the sessions it places. Times are minutes from midnight in the site's zone,
/// on the 15-minute grid (`TimeGrid`).

public struct Mentor: Sendable, Hashable, Codable {
    public var id: String
    public var siteID: String
    public var organisation: String
    public var name: String
    /// Such as `it`, `finance`, `crafts`, `cooking`.
    public var fields: Set<String>
    /// How many mentees at once.
    public var capacity: Int
    public var availability: Availability
    /// The length of each of this mentor's sessions; on the grid.
    public var sessionMinutes: Int

    public init(
        id: String, siteID: String, organisation: String = "", name: String = "", fields: Set<String>, capacity: Int, availability: Availability,
        sessionMinutes: Int = 60
    ) {
        self.id = id
        self.siteID = siteID
        self.organisation = organisation
        self.name = name
        self.fields = fields
        self.capacity = capacity
        self.availability = availability
        self.sessionMinutes = sessionMinutes
    }
}

/// One line of a batch: a young person, the fields they are interested in, how many sessions
/// and the dates the sessions go in (both included).
public struct MentorBatchItem: Sendable, Hashable, Codable {
    public var youngPersonID: String
    /// The young person's site: only mentors of this site are matched.
    public var siteID: String
    public var fields: Set<String>
    public var sessions: Int
    public var from: CivilDate
    public var to: CivilDate

    public init(youngPersonID: String, siteID: String, fields: Set<String>, sessions: Int, from: CivilDate, to: CivilDate) {
        self.youngPersonID = youngPersonID
        self.siteID = siteID
        self.fields = fields
        self.sessions = sessions
        self.from = from
        self.to = to
    }
}

/// A time someone is taken, on one date: a counsellor session, a mentor session.
public struct BusyInterval: Sendable, Hashable, Codable {
    public var personID: String
    public var date: CivilDate
    public var start: Int
    public var end: Int

    public init(personID: String, date: CivilDate, start: Int, end: Int) {
        self.personID = personID
        self.date = date
        self.start = start
        self.end = end
    }

    /// The young person's side of a counsellor session.
    public init(youngPersonOf session: CounsellingSession) {
        self.init(personID: session.youngPersonID, date: session.date, start: session.start, end: session.end)
    }

    /// The young person's side of a mentor session.
    public init(youngPersonOf session: MentorSession) {
        self.init(personID: session.youngPersonID, date: session.date, start: session.start, end: session.end)
    }

    /// The mentor's side of a mentor session.
    public init(mentorOf session: MentorSession) {
        self.init(personID: session.mentorID, date: session.date, start: session.start, end: session.end)
    }
}

/// A young person matched to a mentor by a batch.
public struct MentorAssignment: Sendable, Hashable, Codable {
    public var youngPersonID: String
    public var mentorID: String
    /// Shared fields; at least 1.
    public var fit: Int
    /// The pair existed before the batch.
    public var kept: Bool

    public init(youngPersonID: String, mentorID: String, fit: Int, kept: Bool) {
        self.youngPersonID = youngPersonID
        self.mentorID = mentorID
        self.fit = fit
        self.kept = kept
    }
}

public struct MentorSession: Sendable, Hashable, Codable {
    public var id: String
    public var mentorID: String
    public var youngPersonID: String
    public var date: CivilDate
    /// Minutes from midnight, on the grid.
    public var start: Int
    public var minutes: Int
    /// The batch that placed it.
    public var batchID: String?

    public init(id: String, mentorID: String, youngPersonID: String, date: CivilDate, start: Int, minutes: Int, batchID: String? = nil) {
        self.id = id
        self.mentorID = mentorID
        self.youngPersonID = youngPersonID
        self.date = date
        self.start = start
        self.minutes = minutes
        self.batchID = batchID
    }

    public var end: Int { start + minutes }
}

public enum MentorRefusalReason: String, Sendable, Hashable, Codable, CaseIterable {
    case noMentorWithFields = "no mentor with these fields"
    case mentorsFull = "mentors with these fields are full"
    case noSharedFreeTime = "no shared free time in the range"
}

/// Sessions a batch could not give a young person, and why.
public struct MentorRefusal: Sendable, Hashable, Codable {
    public var youngPersonID: String
    /// The matched mentor, when the refusal is about placing sessions.
    public var mentorID: String?
    public var reason: MentorRefusalReason
    /// The ISO week (`2026-W48`) where a session could not go; `nil` for an item not matched,
    /// and for sessions left over when the range has fewer weeks than sessions.
    public var week: String?
    /// How many sessions this refusal stands for.
    public var sessions: Int

    public init(youngPersonID: String, mentorID: String? = nil, reason: MentorRefusalReason, week: String? = nil, sessions: Int) {
        self.youngPersonID = youngPersonID
        self.mentorID = mentorID
        self.reason = reason
        self.week = week
        self.sessions = sessions
    }
}

/// Everything a batch is decided from. The planner reads, never stores.
public struct MentorBatch: Sendable, Hashable {
    public var id: String?
    public var items: [MentorBatchItem]
    public var mentors: [Mentor]
    /// A young person's mentor before the batch (young person -> mentor): kept when it costs no fit.
    public var currentMentor: [String: String]
    /// Mentees a mentor has outside this batch (mentor -> count): what is left of the capacity
    /// is `capacity - activeMentees`. A young person of the batch is not counted here.
    public var activeMentees: [String: Int]
    /// The young people's availability, from the counselling records; a young person missing
    /// here has no free time.
    public var youngPersonAvailability: [String: Availability]
    /// The young people's counsellor and mentor sessions.
    public var youngPersonBusy: [BusyInterval]
    /// The mentors' other mentor sessions.
    public var mentorBusy: [BusyInterval]
    /// Mentor sessions stored before the batch for its young people: a pair with one in a week
    /// gets no other that week (one a week at most, across batches).
    public var pairSessions: [MentorSession]

    public static let maxItems = 20_000
    public static let maxFields = 20
    public static let maxCapacity = 10_000

    public init(
        id: String? = nil, items: [MentorBatchItem], mentors: [Mentor], currentMentor: [String: String] = [:], activeMentees: [String: Int] = [:],
        youngPersonAvailability: [String: Availability], youngPersonBusy: [BusyInterval] = [], mentorBusy: [BusyInterval] = [],
        pairSessions: [MentorSession] = []
    ) {
        self.id = id
        self.items = items
        self.mentors = mentors
        self.currentMentor = currentMentor
        self.activeMentees = activeMentees
        self.youngPersonAvailability = youngPersonAvailability
        self.youngPersonBusy = youngPersonBusy
        self.mentorBusy = mentorBusy
        self.pairSessions = pairSessions
    }

    /// One item per young person, at least one session, `from <= to`; mentors with distinct ids,
    /// a capacity from 0 to `maxCapacity` and a session length on the grid, inside one day. The
    /// limits keep the matcher's integer costs (up to `maxFields * maxItems^2 * 2 * maxCapacity`
    /// an edge, times the node count along a path) inside 64 bits.
    public func validate() throws(SchedulerError) {
        guard items.count <= Self.maxItems else { throw SchedulerError(.invalidArgument, "a batch holds at most \(Self.maxItems) items", field: "items") }
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            let field = "items[\(index)]"
            guard seen.insert(item.youngPersonID).inserted else {
                throw SchedulerError(.invalidArgument, "young person \(item.youngPersonID) is in the batch twice", field: field)
            }
            guard item.sessions >= 1 else { throw SchedulerError(.invalidArgument, "sessions must be at least 1", field: field + ".sessions") }
            guard item.from <= item.to else { throw SchedulerError(.invalidArgument, "from \(item.from) is after to \(item.to)", field: field) }
            guard item.fields.count <= Self.maxFields else {
                throw SchedulerError(.invalidArgument, "at most \(Self.maxFields) fields", field: field + ".fields")
            }
        }
        var mentorIDs = Set<String>()
        for (index, mentor) in mentors.enumerated() {
            let field = "mentors[\(index)]"
            guard mentorIDs.insert(mentor.id).inserted else { throw SchedulerError(.invalidArgument, "mentor \(mentor.id) is given twice", field: field) }
            guard (0...Self.maxCapacity).contains(mentor.capacity) else {
                throw SchedulerError(.invalidArgument, "capacity must be from 0 to \(Self.maxCapacity)", field: field + ".capacity")
            }
            guard mentor.sessionMinutes > 0, mentor.sessionMinutes <= TimeGrid.dayMinutes, mentor.sessionMinutes % TimeGrid.minutes == 0 else {
                throw SchedulerError(.invalidArgument, "session length must be on the 15-minute grid of one day", field: field + ".sessionMinutes")
            }
            try mentor.availability.validate(field: field + ".availability")
        }
    }
}

/// What a batch decides: the pairs, their sessions and what could not be done.
public struct MentorBatchPlan: Sendable, Hashable {
    /// By young person id.
    public var assignments: [MentorAssignment]
    /// By young person id, then date.
    public var sessions: [MentorSession]
    /// By young person id, then week.
    public var refusals: [MentorRefusal]

    public init(assignments: [MentorAssignment], sessions: [MentorSession], refusals: [MentorRefusal]) {
        self.assignments = assignments
        self.sessions = sessions
        self.refusals = refusals
    }

    public var totalFit: Int { assignments.reduce(0) { $0 + $1.fit } }
    public var keptPairs: Int { assignments.filter(\.kept).count }
}

/// Where a batch is, for progress messages.
public struct MentorBatchProgress: Sendable, Hashable {
    public var pairsPlaced: Int
    /// The pairs the matching made: the items matched.
    public var pairs: Int
    public var sessionsPlaced: Int

    public init(pairsPlaced: Int, pairs: Int, sessionsPlaced: Int) {
        self.pairsPlaced = pairsPlaced
        self.pairs = pairs
        self.sessionsPlaced = sessionsPlaced
    }
}
