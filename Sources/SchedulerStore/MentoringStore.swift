import Foundation
import SchedulerCore

public enum MentorSessionStatus: String, Sendable, Hashable, Codable {
    case scheduled
    case cancelled
}

/// A mentor session as stored: the core's session, its site, status and calendar sequence.
public struct StoredMentorSession: Sendable, Hashable {
    public var session: MentorSession
    public var siteID: String
    public var status: MentorSessionStatus
    /// The iCalendar SEQUENCE: 0 when made, one more when cancelled.
    public var sequence: Int

    public init(session: MentorSession, siteID: String, status: MentorSessionStatus = .scheduled, sequence: Int = 0) {
        self.session = session
        self.siteID = siteID
        self.status = status
        self.sequence = sequence
    }

    public var id: String { session.id }
}

/// A saved batch: its id, site, a digest of its input (to tell a retry from another batch under
/// the same id) and the answer it gave, as the server encoded it (its sessions are stored as
/// sessions, with the batch id).
public struct StoredMentorBatch: Sendable, Hashable {
    public var id: String
    public var siteID: String
    public var inputDigest: [UInt8]
    public var answer: [UInt8]
    public var createdAt: Date

    public init(id: String, siteID: String, inputDigest: [UInt8], answer: [UInt8], createdAt: Date) {
        self.id = id
        self.siteID = siteID
        self.inputDigest = inputDigest
        self.answer = answer
        self.createdAt = createdAt
    }
}

/// A mentor and a young person with a session that is not cancelled, and the date of their
/// latest such session: the pairs a batch keeps and the mentees that take capacity.
public struct MentorPair: Sendable, Hashable {
    public var mentorID: String
    public var youngPersonID: String
    public var lastDate: CivilDate

    public init(mentorID: String, youngPersonID: String, lastDate: CivilDate) {
        self.mentorID = mentorID
        self.youngPersonID = youngPersonID
        self.lastDate = lastDate
    }
}

/// What a batch is decided from: a site's mentors and young people, the sessions that take their
/// time over a date range, and the pairs so far, at one version of the site (the counselling
/// version: counsellor sessions and mentor sessions take the same young people's time).
public struct MentoringSnapshot: Sendable {
    public var site: Site
    /// `saveMentorBatch` refuses a batch decided from an older version.
    public var version: Int64
    /// The site's mentors, by id.
    public var mentors: [Mentor]
    /// The site's young people, by id.
    public var youngPeople: [YoungPerson]
    /// The site's counsellor sessions dated inside the range, not cancelled.
    public var counsellingSessions: [CounsellingSession]
    /// The site's mentor sessions dated inside the range, not cancelled.
    public var mentorSessions: [StoredMentorSession]
    /// Every pair of the site with a session not cancelled, whenever.
    public var pairs: [MentorPair]

    public init(
        site: Site, version: Int64, mentors: [Mentor], youngPeople: [YoungPerson], counsellingSessions: [CounsellingSession],
        mentorSessions: [StoredMentorSession], pairs: [MentorPair]
    ) {
        self.site = site
        self.version = version
        self.mentors = mentors
        self.youngPeople = youngPeople
        self.counsellingSessions = counsellingSessions
        self.mentorSessions = mentorSessions
        self.pairs = pairs
    }
}

/// Which mentor sessions to list: a site's, narrowed by any of the others.
public struct MentorSessionFilter: Sendable, Hashable {
    public var siteID: String
    public var mentorID: String?
    public var youngPersonID: String?
    public var batchID: String?
    public var from: CivilDate?
    public var to: CivilDate?
    public var includeCancelled: Bool

    public init(
        siteID: String, mentorID: String? = nil, youngPersonID: String? = nil, batchID: String? = nil, from: CivilDate? = nil, to: CivilDate? = nil,
        includeCancelled: Bool = false
    ) {
        self.siteID = siteID
        self.mentorID = mentorID
        self.youngPersonID = youngPersonID
        self.batchID = batchID
        self.from = from
        self.to = to
        self.includeCancelled = includeCancelled
    }
}

/// What a mentor import did.
public struct MentorImportCounts: Sendable, Hashable {
    public var created = 0
    public var replaced = 0

    public init(created: Int = 0, replaced: Int = 0) {
        self.created = created
        self.replaced = replaced
    }
}

/// Mentors and mentor sessions in the store. Mentors are created, read, listed and updated like
/// counsellors; sessions come in whole batches through `saveMentorBatch` (load, decide, write,
/// as for counselling: a batch decided from a snapshot of an older version is `ABORTED`), and
/// change afterwards only by cancellation (`writeMentorSessions`).
public protocol MentoringStore: Sendable {
    /// An empty id: the store makes one (`mnt_...`). The site must exist (`NOT_FOUND`, field
    /// `mentor.site_id`); an id in use is `ALREADY_EXISTS`. A field with a comma, or a capacity,
    /// session length or away date no stored mentor can hold, is `INVALID_ARGUMENT`
    /// (`mentor.fields`, `mentor.capacity`, ...).
    func createMentor(_ mentor: Mentor, context: MutationContext, reply: @escaping @Sendable (Mentor) throws -> [UInt8]) async throws -> Mutated<Mentor>
    func mentor(id: String) async throws -> Mentor?
    /// A site's mentors by id after the cursor (the previous page's last id); only those with
    /// `field` when given (a whole field: `it` is not `i`).
    func listMentors(siteID: String, field: String?, after: String?, limit: Int) async throws -> Page<Mentor>
    /// `change` cannot move the mentor's id or site. `NOT_FOUND` (field `mentor.id`).
    func updateMentor(
        id: String, context: MutationContext, reply: @escaping @Sendable (Mentor) throws -> [UInt8], _ change: @escaping @Sendable (inout Mentor) throws -> Void
    ) async throws -> Mutated<Mentor>
    /// Creates or replaces (by id) all of them at `siteID`, or nothing; a mentor of another site
    /// under the same id is `FAILED_PRECONDITION` naming `mentors[i].id`; ids are needed, once
    /// each (`INVALID_ARGUMENT`, `mentors[i].id`).
    func importMentors(
        siteID: String, mentors: [Mentor], context: MutationContext, reply: @escaping @Sendable (MentorImportCounts) throws -> [UInt8]
    ) async throws -> Mutated<MentorImportCounts>

    /// The site's mentors, young people, and sessions dated `from...to`, at one version; nil if
    /// no such site.
    func mentoringSnapshot(siteID: String, from: CivilDate, to: CivilDate) async throws -> MentoringSnapshot?
    /// The batch saved under this id, at any site.
    func mentorBatch(id: String) async throws -> StoredMentorBatch?
    /// Stores the batch and its sessions in one transaction, and bumps the site's version; all or
    /// nothing. `ALREADY_EXISTS` (field `batch_id`) if a batch with this id was saved meanwhile,
    /// at any site (checked first: the caller answers that batch rather than deciding again);
    /// else `ABORTED` if the site's version is no longer `expectedVersion`. Sessions with an
    /// empty id get one (`mses_...`), and all get the batch's id; their mentors and young people
    /// are of the batch's site, and an id stored already is `ALREADY_EXISTS` (errors name
    /// `sessions[i]...`). The audit entry names the batch, not each session.
    func saveMentorBatch(
        _ batch: StoredMentorBatch, sessions: [StoredMentorSession], expectedVersion: Int64, context: MutationContext,
        reply: @escaping @Sendable (StoredMentorBatch) throws -> [UInt8]
    ) async throws -> Mutated<StoredMentorBatch>

    func mentorSession(id: String) async throws -> StoredMentorSession?
    /// By date, start and id, after the cursor (the previous page's `next`, opaque to callers);
    /// a cursor the store did not give is `INVALID_ARGUMENT` (field `page_token`).
    func mentorSessions(_ filter: MentorSessionFilter, after: String?, limit: Int) async throws -> Page<StoredMentorSession>
    /// Replaces these sessions (by id; all exist, at `siteID`) in one transaction, for
    /// cancellations; bumps the site's version. A session keeps its mentor, young person and
    /// batch (errors name `sessions[i]...`). `records` go to the audit besides the ids.
    func writeMentorSessions(
        siteID: String, _ sessions: [StoredMentorSession], records: [String], context: MutationContext,
        reply: @escaping @Sendable ([StoredMentorSession]) throws -> [UInt8]
    ) async throws -> Mutated<[StoredMentorSession]>
}
