import Foundation
import SchedulerCore

/// A counselling session as stored: the core's session, its site and its calendar sequence.
public struct StoredSession: Sendable, Hashable {
    public var session: CounsellingSession
    public var siteID: String
    /// The iCalendar SEQUENCE: 0 when made, one more on every change of time, counsellor,
    /// place or status.
    public var sequence: Int

    public init(session: CounsellingSession, siteID: String, sequence: Int = 0) {
        self.session = session
        self.siteID = siteID
        self.sequence = sequence
    }

    public var id: String { session.id }
}

/// What planning and re-planning read: a site's counselling records and its sessions over a
/// date range, at one version of the site.
public struct CounsellingSnapshot: Sendable {
    public var site: Site
    /// Bumped by every change to the site's homes, young people, counsellors or sessions;
    /// `writeCounselling` refuses a write made from an older snapshot.
    public var version: Int64
    public var homes: [Home]
    public var youngPeople: [YoungPerson]
    public var counsellors: [Counsellor]
    /// Every session of the site dated inside the range (cancelled ones included), by id.
    public var sessions: [StoredSession]
    /// For each young person, the counsellor of their latest session (not cancelled) dated
    /// before the range: "last week's counsellor" for continuity.
    public var lastCounsellor: [String: String]

    public init(
        site: Site, version: Int64, homes: [Home], youngPeople: [YoungPerson], counsellors: [Counsellor], sessions: [StoredSession],
        lastCounsellor: [String: String]
    ) {
        self.site = site
        self.version = version
        self.homes = homes
        self.youngPeople = youngPeople
        self.counsellors = counsellors
        self.sessions = sessions
        self.lastCounsellor = lastCounsellor
    }
}

/// One write decided from a snapshot: sessions inserted or replaced by id (sessions are never
/// deleted: a session that goes away is cancelled, so calendars see it go), and counsellors
/// replaced whole (an absence's away dates).
public struct CounsellingWrite: Sendable {
    public var sessions: [StoredSession]
    public var counsellors: [Counsellor]
    /// Audit records besides the sessions' and counsellors' own (`week:almaty/2026-W48`).
    public var records: [String]

    public init(sessions: [StoredSession] = [], counsellors: [Counsellor] = [], records: [String] = []) {
        self.sessions = sessions
        self.counsellors = counsellors
        self.records = records
    }
}

/// What a bulk import did.
public struct CounsellingImportCounts: Sendable, Hashable {
    public var homesCreated = 0
    public var homesReplaced = 0
    public var youngPeopleCreated = 0
    public var youngPeopleReplaced = 0
    public var counsellorsCreated = 0
    public var counsellorsReplaced = 0

    public init() {}
}

/// Counsellor sessions in the store. Records (homes, young people, counsellors) are created,
/// read, listed and updated like the nursery's; sessions change only through
/// `writeCounselling`, which the server calls with what the core decided from a snapshot
/// (load, decide, write): the write is refused with `ABORTED` if the site changed since.
///
/// Rules the store checks inside its transaction (the server validates each field before):
/// - a home's site exists; a young person's home exists and gives the young person its site;
///   a preferred counsellor is a counsellor of the same site;
/// - an id taken by a record of another kind is fine, by one of the same kind is
///   `ALREADY_EXISTS` (create) or replaced (import, same site only: a record of another site
///   is `FAILED_PRECONDITION`).
public protocol CounsellingStore: Sendable {
    /// An empty id: the store makes one (`hom_...`).
    func createHome(_ home: Home, context: MutationContext, reply: @escaping @Sendable (Home) throws -> [UInt8]) async throws -> Mutated<Home>
    func home(id: String) async throws -> Home?
    func listHomes(siteID: String, after: String?, limit: Int) async throws -> Page<Home>
    func updateHome(
        id: String, context: MutationContext, reply: @escaping @Sendable (Home) throws -> [UInt8], _ change: @escaping @Sendable (inout Home) throws -> Void
    ) async throws -> Mutated<Home>

    /// An empty id: the store makes one (`yp_...`). The site is the home's.
    func createYoungPerson(_ person: YoungPerson, context: MutationContext, reply: @escaping @Sendable (YoungPerson) throws -> [UInt8]) async throws
        -> Mutated<YoungPerson>
    func youngPerson(id: String) async throws -> YoungPerson?
    /// The site of a young person (through their home).
    func youngPersonSite(id: String) async throws -> String?
    func listYoungPeople(siteID: String?, homeID: String?, after: String?, limit: Int) async throws -> Page<YoungPerson>
    func updateYoungPerson(
        id: String, context: MutationContext, reply: @escaping @Sendable (YoungPerson) throws -> [UInt8],
        _ change: @escaping @Sendable (inout YoungPerson) throws -> Void
    ) async throws -> Mutated<YoungPerson>

    /// An empty id: the store makes one (`cns_...`).
    func createCounsellor(_ counsellor: Counsellor, context: MutationContext, reply: @escaping @Sendable (Counsellor) throws -> [UInt8]) async throws
        -> Mutated<Counsellor>
    func counsellor(id: String) async throws -> Counsellor?
    func listCounsellors(siteID: String, after: String?, limit: Int) async throws -> Page<Counsellor>
    func updateCounsellor(
        id: String, context: MutationContext, reply: @escaping @Sendable (Counsellor) throws -> [UInt8],
        _ change: @escaping @Sendable (inout Counsellor) throws -> Void
    ) async throws -> Mutated<Counsellor>

    /// Creates or replaces (by id) all of them at `siteID`, or nothing. A young person's home
    /// and preferred counsellor may be in the same import. Errors name the field with its index
    /// (`young_people[3].home_id`).
    func importCounselling(
        siteID: String, homes: [Home], youngPeople: [YoungPerson], counsellors: [Counsellor], context: MutationContext,
        reply: @escaping @Sendable (CounsellingImportCounts) throws -> [UInt8]
    ) async throws -> Mutated<CounsellingImportCounts>

    /// The site's records and its sessions dated `from...to`, at one version; nil if no such site.
    func counsellingSnapshot(siteID: String, from: CivilDate, to: CivilDate) async throws -> CounsellingSnapshot?
    /// Writes what was decided from the snapshot at `expectedVersion`, in one transaction, and
    /// bumps the version; `ABORTED` (nothing written) if the site's version is no longer that.
    /// Returns the new version.
    func writeCounselling(
        siteID: String, expectedVersion: Int64, _ write: CounsellingWrite, context: MutationContext, reply: @escaping @Sendable (Int64) throws -> [UInt8]
    ) async throws -> Mutated<Int64>

    func session(id: String) async throws -> StoredSession?
    /// Sessions of a counsellor or of a young person (whichever is given) dated `from...to`,
    /// by date, start and id.
    func sessions(counsellorID: String?, youngPersonID: String?, from: CivilDate, to: CivilDate, includeCancelled: Bool) async throws -> [StoredSession]
}
