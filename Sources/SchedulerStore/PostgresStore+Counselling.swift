import Foundation
import PostgresNIO
import SchedulerCore

/// Counsellor sessions on PostgreSQL. Every change to a site's homes, young people, counsellors
/// or sessions first takes the site's row of `counselling_version` (moving it on by one), so the
/// site's counselling changes take turns across servers, and always take that lock before any
/// other row's: they cannot deadlock with each other. `writeCounselling` compares the version
/// under that lock: a write decided from an older snapshot is refused, never merged.
extension PostgresStore {
    // MARK: Rows (columns by position)

    static let homeColumns = "id, site_id, name"
    static let youngPersonColumns = "id, home_id, data, site_id"
    static let counsellorColumns = "id, site_id, data"
    static let sessionColumns = "id, site_id, young_person_id, counsellor_id, home_id, day, start_minute, minutes, status, pinned, sequence"

    static func home(_ row: PostgresRandomAccessRow) throws -> Home {
        Home(id: try row.text(0), siteID: try row.text(1), name: try row.text(2))
    }

    static func youngPerson(_ row: PostgresRandomAccessRow) throws -> YoungPerson {
        try StoreRules.youngPerson(id: try row.text(0), homeID: try row.text(1), data: try row.text(2))
    }

    static func counsellor(_ row: PostgresRandomAccessRow) throws -> Counsellor {
        try StoreRules.counsellor(id: try row.text(0), siteID: try row.text(1), data: try row.text(2))
    }

    static func storedSession(_ row: PostgresRandomAccessRow) throws -> StoredSession {
        try StoreRules.session(
            id: try row.text(0), siteID: try row.text(1), youngPersonID: try row.text(2), counsellorID: try row.text(3), homeID: try row.text(4),
            day: try row.int(5), start: try row.int(6), minutes: try row.int(7), status: try row.text(8), pinned: try row.bool(9), sequence: try row.int(10))
    }

    func fetchHome(_ tx: PostgresTransaction, _ id: String) async throws -> Home? {
        try await tx.row("SELECT \(unescaped: Self.homeColumns) FROM home WHERE id = \(id)").map(Self.home)
    }

    /// A young person and their site (`lock`: the row locked for an update).
    func fetchYoungPerson(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> (YoungPerson, siteID: String)? {
        try await tx.row(
            "SELECT \(unescaped: Self.youngPersonColumns) FROM young_person WHERE id = \(id)\(unescaped: lock ? " FOR NO KEY UPDATE" : "")"
        ).map { (try Self.youngPerson($0), try $0.text(3)) }
    }

    func fetchCounsellor(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> Counsellor? {
        try await tx.row("SELECT \(unescaped: Self.counsellorColumns) FROM counsellor WHERE id = \(id)\(unescaped: lock ? " FOR NO KEY UPDATE" : "")")
            .map(Self.counsellor)
    }

    func siteOfCounsellor(_ tx: PostgresTransaction, _ id: String?) async throws -> String? {
        guard let id else { return nil }
        return try await tx.row("SELECT site_id FROM counsellor WHERE id = \(id)")?.text(0)
    }

    /// Locks the site's counselling version and moves it on by one; returns the new version.
    /// The site must exist. Taken before any other row a counselling change locks.
    @discardableResult
    func bumpCounsellingVersion(_ tx: PostgresTransaction, _ siteID: String) async throws -> Int64 {
        let row = try await tx.row(
            """
            INSERT INTO counselling_version (site_id, version) VALUES (\(siteID), 1)
            ON CONFLICT (site_id) DO UPDATE SET version = counselling_version.version + 1 RETURNING version
            """)
        guard let row else { throw SchedulerStoreError.internal("no counselling version for site \(siteID)") }
        return Int64(try row.int(0))
    }

    /// The stored sites of the records named, in one round trip.
    func sites(_ tx: PostgresTransaction, homes: [String], youngPeople: [String], counsellors: [String], sessions: [String]) async throws
        -> StoreRules.CounsellingSites
    {
        var sites = StoreRules.CounsellingSites()
        let rows = try await tx.rows(
            """
            SELECT 0, id, site_id FROM home WHERE id = ANY(\(homes))
            UNION ALL SELECT 1, id, site_id FROM young_person WHERE id = ANY(\(youngPeople))
            UNION ALL SELECT 2, id, site_id FROM counsellor WHERE id = ANY(\(counsellors))
            UNION ALL SELECT 3, id, site_id FROM counselling_session WHERE id = ANY(\(sessions))
            """)
        for row in rows {
            let id = try row.text(1), site = try row.text(2)
            switch try row.int(0) {
            case 0: sites.homes[id] = site
            case 1: sites.youngPeople[id] = site
            case 2: sites.counsellors[id] = site
            default: sites.sessions[id] = site
            }
        }
        return sites
    }

    func counsellingPage<T: Sendable>(_ query: PostgresQuery, limit: Int, map: (PostgresRandomAccessRow) throws -> T, id: (T) -> String)
        async throws -> Page<T>
    {
        var query = query
        query.sql += " LIMIT \(max(0, limit) + 1)"
        let rows = try await read { tx in try await tx.rows(query) }
        let items = try rows.prefix(max(0, limit)).map(map)
        return Page(items: items, next: rows.count > limit ? items.last.map(id) : nil)
    }

    // MARK: Homes

    public func createHome(_ home: Home, context: MutationContext, reply: @escaping @Sendable (Home) throws -> [UInt8]) async throws -> Mutated<Home> {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, home.siteID), "site", home.siteID, field: "home.site_id")
            var home = home
            if home.id.isEmpty { home.id = RecordID.make("hom") }
            try await bumpCounsellingVersion(tx, home.siteID)
            guard try await fetchHome(tx, home.id) == nil else {
                throw SchedulerError(.alreadyExists, "a home with id \(home.id) exists", field: "home.id")
            }
            try await tx.run("INSERT INTO home (id, site_id, name) VALUES (\(home.id), \(home.siteID), \(home.name))")
            return (home, ["home:\(home.id)"])
        }
    }

    public func home(id: String) async throws -> Home? {
        try await read { tx in try await fetchHome(tx, id) }
    }

    public func listHomes(siteID: String, after: String?, limit: Int) async throws -> Page<Home> {
        try await counsellingPage(
            "SELECT \(unescaped: Self.homeColumns) FROM home WHERE id > \(after ?? "") AND site_id = \(siteID) ORDER BY id", limit: limit, map: Self.home,
            id: \.id)
    }

    public func updateHome(
        id: String, context: MutationContext, reply: @escaping @Sendable (Home) throws -> [UInt8], _ change: @escaping @Sendable (inout Home) throws -> Void
    ) async throws -> Mutated<Home> {
        try await mutate(context, reply: reply) { tx in
            // A home never changes site: its site read unlocked names the version to lock first.
            let site = try StoreRules.require(try await fetchHome(tx, id), "home", id, field: "home.id").siteID
            try await bumpCounsellingVersion(tx, site)
            let old = try StoreRules.require(
                try await tx.row("SELECT \(unescaped: Self.homeColumns) FROM home WHERE id = \(id) FOR NO KEY UPDATE").map(Self.home), "home", id,
                field: "home.id")
            var home = old
            try change(&home)
            home.id = old.id
            home.siteID = old.siteID
            try await tx.run("UPDATE home SET name = \(home.name) WHERE id = \(id)")
            return (home, ["home:\(id)"])
        }
    }

    // MARK: Young people

    public func createYoungPerson(_ person: YoungPerson, context: MutationContext, reply: @escaping @Sendable (YoungPerson) throws -> [UInt8]) async throws
        -> Mutated<YoungPerson>
    {
        try await mutate(context, reply: reply) { tx in
            let home = try StoreRules.require(try await fetchHome(tx, person.homeID), "home", person.homeID, field: "young_person.home_id")
            try await bumpCounsellingVersion(tx, home.siteID)
            var person = StoreRules.normalized(person)
            try StoreRules.checkPreferredCounsellor(
                person.preferredCounsellorID, counsellorSite: try await siteOfCounsellor(tx, person.preferredCounsellorID), siteID: home.siteID,
                field: "young_person.preferred_counsellor_id")
            if person.id.isEmpty { person.id = RecordID.make("yp") }
            guard try await fetchYoungPerson(tx, person.id) == nil else {
                throw SchedulerError(.alreadyExists, "a young person with id \(person.id) exists", field: "young_person.id")
            }
            try await tx.run(
                "INSERT INTO young_person (id, site_id, home_id, data) VALUES (\(person.id), \(home.siteID), \(home.id), \(try StoreRules.youngPersonData(person)))"
            )
            return (person, ["young_person:\(person.id)"])
        }
    }

    public func youngPerson(id: String) async throws -> YoungPerson? {
        try await read { tx in try await fetchYoungPerson(tx, id)?.0 }
    }

    public func youngPersonSite(id: String) async throws -> String? {
        try await read { tx in try await tx.row("SELECT site_id FROM young_person WHERE id = \(id)")?.text(0) }
    }

    public func listYoungPeople(siteID: String?, homeID: String?, after: String?, limit: Int) async throws -> Page<YoungPerson> {
        try await counsellingPage(
            """
            SELECT \(unescaped: Self.youngPersonColumns) FROM young_person
            WHERE id > \(after ?? "") AND (\(siteID)::text IS NULL OR site_id = \(siteID)) AND (\(homeID)::text IS NULL OR home_id = \(homeID)) ORDER BY id
            """, limit: limit, map: Self.youngPerson, id: \.id)
    }

    public func updateYoungPerson(
        id: String, context: MutationContext, reply: @escaping @Sendable (YoungPerson) throws -> [UInt8],
        _ change: @escaping @Sendable (inout YoungPerson) throws -> Void
    ) async throws -> Mutated<YoungPerson> {
        try await mutate(context, reply: reply) { tx in
            // A young person never changes site: read unlocked, it names the version to lock first.
            let site = try StoreRules.require(try await fetchYoungPerson(tx, id), "young person", id, field: "young_person.id").siteID
            try await bumpCounsellingVersion(tx, site)
            let (old, siteID) = try StoreRules.require(try await fetchYoungPerson(tx, id, lock: true), "young person", id, field: "young_person.id")
            var person = old
            try change(&person)
            person.id = old.id
            person = StoreRules.normalized(person)
            if person.homeID != old.homeID {
                try StoreRules.checkSameSite(
                    homeID: person.homeID, homeSite: try await fetchHome(tx, person.homeID)?.siteID, siteID: siteID, field: "young_person.home_id")
            }
            try StoreRules.checkPreferredCounsellor(
                person.preferredCounsellorID, counsellorSite: try await siteOfCounsellor(tx, person.preferredCounsellorID), siteID: siteID,
                field: "young_person.preferred_counsellor_id")
            try await tx.run("UPDATE young_person SET home_id = \(person.homeID), data = \(try StoreRules.youngPersonData(person)) WHERE id = \(id)")
            return (person, ["young_person:\(id)"])
        }
    }

    // MARK: Counsellors

    public func createCounsellor(_ counsellor: Counsellor, context: MutationContext, reply: @escaping @Sendable (Counsellor) throws -> [UInt8]) async throws
        -> Mutated<Counsellor>
    {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, counsellor.siteID), "site", counsellor.siteID, field: "counsellor.site_id")
            var counsellor = counsellor
            if counsellor.id.isEmpty { counsellor.id = RecordID.make("cns") }
            try await bumpCounsellingVersion(tx, counsellor.siteID)
            guard try await fetchCounsellor(tx, counsellor.id) == nil else {
                throw SchedulerError(.alreadyExists, "a counsellor with id \(counsellor.id) exists", field: "counsellor.id")
            }
            try await tx.run(
                "INSERT INTO counsellor (id, site_id, data) VALUES (\(counsellor.id), \(counsellor.siteID), \(try StoreRules.counsellorData(counsellor)))")
            return (counsellor, ["counsellor:\(counsellor.id)"])
        }
    }

    public func counsellor(id: String) async throws -> Counsellor? {
        try await read { tx in try await fetchCounsellor(tx, id) }
    }

    public func listCounsellors(siteID: String, after: String?, limit: Int) async throws -> Page<Counsellor> {
        try await counsellingPage(
            "SELECT \(unescaped: Self.counsellorColumns) FROM counsellor WHERE id > \(after ?? "") AND site_id = \(siteID) ORDER BY id", limit: limit,
            map: Self.counsellor, id: \.id)
    }

    public func updateCounsellor(
        id: String, context: MutationContext, reply: @escaping @Sendable (Counsellor) throws -> [UInt8],
        _ change: @escaping @Sendable (inout Counsellor) throws -> Void
    ) async throws -> Mutated<Counsellor> {
        try await mutate(context, reply: reply) { tx in
            // A counsellor never changes site: read unlocked, it names the version to lock first.
            let site = try StoreRules.require(try await fetchCounsellor(tx, id), "counsellor", id, field: "counsellor.id").siteID
            try await bumpCounsellingVersion(tx, site)
            let old = try StoreRules.require(try await fetchCounsellor(tx, id, lock: true), "counsellor", id, field: "counsellor.id")
            var counsellor = old
            try change(&counsellor)
            counsellor.id = old.id
            counsellor.siteID = old.siteID
            try await tx.run("UPDATE counsellor SET data = \(try StoreRules.counsellorData(counsellor)) WHERE id = \(id)")
            return (counsellor, ["counsellor:\(id)"])
        }
    }

    // MARK: Import

    /// Rows per statement of an import or a write: each statement unnests arrays, so a few
    /// statements carry thousands of records.
    static let counsellingChunk = 1_000

    public func importCounselling(
        siteID: String, homes: [Home], youngPeople: [YoungPerson], counsellors: [Counsellor], context: MutationContext,
        reply: @escaping @Sendable (CounsellingImportCounts) throws -> [UInt8]
    ) async throws -> Mutated<CounsellingImportCounts> {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, siteID), "site", siteID, field: "site_id")
            try await bumpCounsellingVersion(tx, siteID)
            let ids = StoreRules.importLookups(homes: homes, youngPeople: youngPeople, counsellors: counsellors)
            let stored = try await sites(tx, homes: ids.homes, youngPeople: ids.youngPeople, counsellors: ids.counsellors, sessions: [])
            let checked = try StoreRules.checkImport(siteID: siteID, homes: homes, youngPeople: youngPeople, counsellors: counsellors, stored: stored)
            for slice in checked.homes.chunked(Self.counsellingChunk) {
                try await tx.run(
                    """
                    INSERT INTO home (id, site_id, name) SELECT i, \(siteID), n FROM UNNEST(\(slice.map(\.id))::text[], \(slice.map(\.name))::text[]) AS t(i, n)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, name = excluded.name
                    """)
            }
            for slice in checked.counsellors.chunked(Self.counsellingChunk) {
                let data = try slice.map(StoreRules.counsellorData)
                try await tx.run(
                    """
                    INSERT INTO counsellor (id, site_id, data) SELECT i, \(siteID), d FROM UNNEST(\(slice.map(\.id))::text[], \(data)::text[]) AS t(i, d)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, data = excluded.data
                    """)
            }
            for slice in checked.youngPeople.chunked(Self.counsellingChunk) {
                let data = try slice.map(StoreRules.youngPersonData)
                try await tx.run(
                    """
                    INSERT INTO young_person (id, site_id, home_id, data)
                    SELECT i, \(siteID), h, d FROM UNNEST(\(slice.map(\.id))::text[], \(slice.map(\.homeID))::text[], \(data)::text[]) AS t(i, h, d)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, home_id = excluded.home_id, data = excluded.data
                    """)
            }
            return (checked.counts, checked.records)
        }
    }

    // MARK: Snapshot and write

    /// The site's counselling version as the transaction sees it (0 before its first change).
    func counsellingVersion(_ tx: PostgresTransaction, _ siteID: String) async throws -> Int64 {
        try await tx.row("SELECT version FROM counselling_version WHERE site_id = \(siteID)").map { Int64(try $0.int(0)) } ?? 0
    }

    public func counsellingSnapshot(siteID: String, from: CivilDate, to: CivilDate) async throws -> CounsellingSnapshot? {
        // One REPEATABLE READ transaction: the version and every row are of one snapshot.
        try await read { tx in
            guard let site = try await fetchSite(tx, siteID) else { return nil }
            let version = try await counsellingVersion(tx, siteID)
            let homes = try await tx.rows("SELECT \(unescaped: Self.homeColumns) FROM home WHERE site_id = \(siteID) ORDER BY id").map(Self.home)
            let people = try await tx.rows("SELECT \(unescaped: Self.youngPersonColumns) FROM young_person WHERE site_id = \(siteID) ORDER BY id")
                .map(Self.youngPerson)
            let counsellors = try await tx.rows("SELECT \(unescaped: Self.counsellorColumns) FROM counsellor WHERE site_id = \(siteID) ORDER BY id")
                .map(Self.counsellor)
            let sessions = try await tx.rows(
                """
                SELECT \(unescaped: Self.sessionColumns) FROM counselling_session
                WHERE site_id = \(siteID) AND day >= \(from.dayNumber) AND day <= \(to.dayNumber) ORDER BY day, start_minute, id
                """
            ).map(Self.storedSession)
            var last: [String: String] = [:]
            for row in try await tx.rows(
                """
                SELECT y.id, (
                    SELECT s.counsellor_id FROM counselling_session s
                    WHERE s.young_person_id = y.id AND s.day < \(from.dayNumber) AND s.status <> 'CANCELLED'
                    ORDER BY s.day DESC, s.start_minute DESC, s.id DESC LIMIT 1
                ) FROM young_person y WHERE y.site_id = \(siteID)
                """)
            {
                if let counsellor = try row.optionalText(1) { last[try row.text(0)] = counsellor }
            }
            return CounsellingSnapshot(
                site: site, version: version, homes: homes, youngPeople: people, counsellors: counsellors, sessions: sessions, lastCounsellor: last)
        }
    }

    public func writeCounselling(
        siteID: String, expectedVersion: Int64, _ write: CounsellingWrite, context: MutationContext, reply: @escaping @Sendable (Int64) throws -> [UInt8]
    ) async throws -> Mutated<Int64> {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, siteID), "site", siteID, field: "site_id")
            // The site's version row, locked (made at 0 if missing) and read as last committed:
            // a writer that waited here for another sees that one's version, not its own snapshot's.
            guard
                let row = try await tx.row(
                    """
                    INSERT INTO counselling_version (site_id, version) VALUES (\(siteID), 0)
                    ON CONFLICT (site_id) DO UPDATE SET version = counselling_version.version RETURNING version
                    """)
            else { throw SchedulerStoreError.internal("no counselling version for site \(siteID)") }
            guard Int64(try row.int(0)) == expectedVersion else { throw StoreRules.staleCounselling(siteID: siteID) }
            let ids = StoreRules.writeLookups(write)
            let stored = try await sites(tx, homes: ids.homes, youngPeople: ids.youngPeople, counsellors: ids.counsellors, sessions: ids.sessions)
            let checked = try StoreRules.checkWrite(siteID: siteID, write, stored: stored)
            for slice in checked.sessions.chunked(Self.counsellingChunk) {
                let sessions = slice.map(\.session)
                try await tx.run(
                    """
                    INSERT INTO counselling_session (\(unescaped: Self.sessionColumns))
                    SELECT i, \(siteID), y, c, h, d, s, m, st, p, q
                    FROM UNNEST(\(sessions.map(\.id))::text[], \(sessions.map(\.youngPersonID))::text[], \(sessions.map(\.counsellorID))::text[],
                                \(sessions.map(\.homeID))::text[], \(sessions.map { Int64($0.date.dayNumber) })::int8[], \(sessions.map { Int64($0.start) })::int8[],
                                \(sessions.map { Int64($0.minutes) })::int8[], \(sessions.map(\.status.rawValue))::text[], \(sessions.map(\.pinned))::bool[],
                                \(slice.map { Int64($0.sequence) })::int8[]) AS t(i, y, c, h, d, s, m, st, p, q)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, young_person_id = excluded.young_person_id,
                        counsellor_id = excluded.counsellor_id, home_id = excluded.home_id, day = excluded.day, start_minute = excluded.start_minute,
                        minutes = excluded.minutes, status = excluded.status, pinned = excluded.pinned, sequence = excluded.sequence
                    """)
            }
            for slice in checked.counsellors.chunked(Self.counsellingChunk) {
                let data = try slice.map(StoreRules.counsellorData)
                try await tx.run(
                    """
                    UPDATE counsellor SET data = t.d FROM UNNEST(\(slice.map(\.id))::text[], \(data)::text[]) AS t(i, d) WHERE counsellor.id = t.i
                    """)
            }
            guard let bumped = try await tx.row("UPDATE counselling_version SET version = version + 1 WHERE site_id = \(siteID) RETURNING version") else {
                throw SchedulerStoreError.internal("no counselling version for site \(siteID)")
            }
            return (Int64(try bumped.int(0)), checked.records)
        }
    }

    // MARK: Sessions

    public func session(id: String) async throws -> StoredSession? {
        try await read { tx in
            try await tx.row("SELECT \(unescaped: Self.sessionColumns) FROM counselling_session WHERE id = \(id)").map(Self.storedSession)
        }
    }

    public func sessions(counsellorID: String?, youngPersonID: String?, from: CivilDate, to: CivilDate, includeCancelled: Bool) async throws
        -> [StoredSession]
    {
        guard counsellorID != nil || youngPersonID != nil else { throw StoreRules.sessionsFilterNeeded() }
        return try await read { tx in
            // Planned with the values bound (an unnamed statement), so the given id's index is used.
            try await tx.rows(
                """
                SELECT \(unescaped: Self.sessionColumns) FROM counselling_session
                WHERE (\(counsellorID)::text IS NULL OR counsellor_id = \(counsellorID)) AND (\(youngPersonID)::text IS NULL OR young_person_id = \(youngPersonID))
                  AND day >= \(from.dayNumber) AND day <= \(to.dayNumber) AND (\(includeCancelled) OR status <> 'CANCELLED')
                ORDER BY day, start_minute, id
                """
            ).map(Self.storedSession)
        }
    }
}
