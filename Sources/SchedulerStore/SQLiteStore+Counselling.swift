import Foundation
import GRDB
import SchedulerCore

/// Counsellor sessions on SQLite. Every change to a site's homes, young people, counsellors or
/// sessions bumps the site's row of `counselling_version` in its transaction; SQLite runs one
/// write at a time, so `writeCounselling` checks the version and writes with nothing between.
extension SQLiteStore {
    static func registerCounsellingMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-counselling") { db in
            try db.execute(
                sql: """
                    CREATE TABLE home (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        name TEXT NOT NULL
                    );
                    CREATE INDEX home_site ON home(site_id);
                    CREATE TABLE counsellor (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        data TEXT NOT NULL
                    );
                    CREATE INDEX counsellor_site ON counsellor(site_id);
                    CREATE TABLE young_person (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        home_id TEXT NOT NULL REFERENCES home(id),
                        data TEXT NOT NULL
                    );
                    CREATE INDEX young_person_site ON young_person(site_id);
                    CREATE INDEX young_person_home ON young_person(home_id);
                    CREATE TABLE counselling_session (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        young_person_id TEXT NOT NULL REFERENCES young_person(id),
                        counsellor_id TEXT NOT NULL REFERENCES counsellor(id),
                        home_id TEXT NOT NULL REFERENCES home(id),
                        day INTEGER NOT NULL,
                        start_minute INTEGER NOT NULL,
                        minutes INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        pinned INTEGER NOT NULL,
                        sequence INTEGER NOT NULL
                    );
                    CREATE INDEX counselling_session_site ON counselling_session(site_id, day);
                    CREATE INDEX counselling_session_counsellor ON counselling_session(counsellor_id, day);
                    CREATE INDEX counselling_session_young_person ON counselling_session(young_person_id, day);
                    CREATE TABLE counselling_version (
                        site_id TEXT PRIMARY KEY REFERENCES site(id),
                        version INTEGER NOT NULL
                    );
                    """)
        }
    }

    // MARK: Rows

    static func home(_ row: Row) throws -> Home {
        let row = StoredRow(row, "home")
        return try Home(id: row["id"], siteID: row["site_id"], name: row["name"])
    }

    static func youngPerson(_ row: Row) throws -> YoungPerson {
        let row = StoredRow(row, "young_person")
        return try StoreRules.youngPerson(id: row["id"], homeID: row["home_id"], data: row["data"])
    }

    static func counsellor(_ row: Row) throws -> Counsellor {
        let row = StoredRow(row, "counsellor")
        return try StoreRules.counsellor(id: row["id"], siteID: row["site_id"], data: row["data"])
    }

    static func storedSession(_ row: Row) throws -> StoredSession {
        let row = StoredRow(row, "counselling_session")
        return try StoreRules.session(
            id: row["id"], siteID: row["site_id"], youngPersonID: row["young_person_id"], counsellorID: row["counsellor_id"], homeID: row["home_id"],
            day: row["day"], start: row["start_minute"], minutes: row["minutes"], status: row["status"], pinned: row["pinned"], sequence: row["sequence"])
    }

    static func fetchHome(_ db: Database, _ id: String) throws -> Home? {
        try db.row(sql: "SELECT * FROM home WHERE id = ?", arguments: [id]).map(home)
    }

    /// A young person and their site.
    static func fetchYoungPerson(_ db: Database, _ id: String) throws -> (YoungPerson, siteID: String)? {
        try db.row(sql: "SELECT * FROM young_person WHERE id = ?", arguments: [id]).map { row in
            (try youngPerson(row), try StoredRow(row, "young_person")["site_id"])
        }
    }

    static func fetchCounsellor(_ db: Database, _ id: String) throws -> Counsellor? {
        try db.row(sql: "SELECT * FROM counsellor WHERE id = ?", arguments: [id]).map(counsellor)
    }

    static func siteOfCounsellor(_ db: Database, _ id: String?) throws -> String? {
        guard let id else { return nil }
        return try String.fetchOne(db.cachedStatement(sql: "SELECT site_id FROM counsellor WHERE id = ?"), arguments: [id])
    }

    /// The site of each stored record of `table` among `ids` (a query per 500 ids).
    static func sites(_ db: Database, _ table: String, _ ids: [String]) throws -> [String: String] {
        var sites: [String: String] = [:]
        for slice in ids.chunked(500) {
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, site_id FROM \(table) WHERE id IN (\(placeholders(slice.count)))", arguments: StatementArguments(Array(slice)))
            for row in rows {
                let row = StoredRow(row, table)
                sites[try row[0, "id"]] = try row[1, "site_id"] as String
            }
        }
        return sites
    }

    static func counsellingVersion(_ db: Database, _ siteID: String) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT version FROM counselling_version WHERE site_id = ?"), arguments: [siteID]) ?? 0
    }

    /// Moves the site's counselling version on by one; returns the new version.
    @discardableResult
    static func bumpCounsellingVersion(_ db: Database, _ siteID: String) throws -> Int64 {
        try db.run(
            sql: """
                INSERT INTO counselling_version (site_id, version) VALUES (?, 1)
                ON CONFLICT (site_id) DO UPDATE SET version = counselling_version.version + 1
                """,
            arguments: [siteID])
        return try counsellingVersion(db, siteID)
    }

    func counsellingPage<T: Sendable>(
        _ sql: String, _ arguments: StatementArguments, limit: Int, map: @escaping @Sendable (Row) throws -> T, id: @escaping @Sendable (T) -> String
    ) async throws -> Page<T> {
        try await read { db in
            let rows = try db.rows(sql: sql + " LIMIT \(max(0, limit) + 1)", arguments: arguments)
            let items = try rows.prefix(max(0, limit)).map(map)
            return Page(items: Array(items), next: rows.count > limit ? items.last.map(id) : nil)
        }
    }

    // MARK: Homes

    public func createHome(_ home: Home, context: MutationContext, reply: @escaping @Sendable (Home) throws -> [UInt8]) async throws -> Mutated<Home> {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, home.siteID), "site", home.siteID, field: "home.site_id")
            var home = home
            if home.id.isEmpty { home.id = RecordID.make("hom") }
            guard try Self.fetchHome(db, home.id) == nil else {
                throw SchedulerError(.alreadyExists, "a home with id \(home.id) exists", field: "home.id")
            }
            try db.run(sql: "INSERT INTO home (id, site_id, name) VALUES (?, ?, ?)", arguments: [home.id, home.siteID, home.name])
            try Self.bumpCounsellingVersion(db, home.siteID)
            return (home, ["home:\(home.id)"])
        }
    }

    public func home(id: String) async throws -> Home? {
        try await read { db in try Self.fetchHome(db, id) }
    }

    public func listHomes(siteID: String, after: String?, limit: Int) async throws -> Page<Home> {
        try await counsellingPage("SELECT * FROM home WHERE id > ? AND site_id = ? ORDER BY id", [after ?? "", siteID], limit: limit, map: Self.home, id: \.id)
    }

    public func updateHome(
        id: String, context: MutationContext, reply: @escaping @Sendable (Home) throws -> [UInt8], _ change: @escaping @Sendable (inout Home) throws -> Void
    ) async throws -> Mutated<Home> {
        try await mutate(context, reply: reply) { db, _ in
            let old = try Self.require(try Self.fetchHome(db, id), "home", id, field: "home.id")
            var home = old
            try change(&home)
            // A home stays at its site (its young people and sessions are there).
            home.id = old.id
            home.siteID = old.siteID
            try db.run(sql: "UPDATE home SET name = ? WHERE id = ?", arguments: [home.name, id])
            try Self.bumpCounsellingVersion(db, home.siteID)
            return (home, ["home:\(id)"])
        }
    }

    // MARK: Young people

    public func createYoungPerson(_ person: YoungPerson, context: MutationContext, reply: @escaping @Sendable (YoungPerson) throws -> [UInt8]) async throws
        -> Mutated<YoungPerson>
    {
        try await mutate(context, reply: reply) { db, _ in
            let home = try Self.require(try Self.fetchHome(db, person.homeID), "home", person.homeID, field: "young_person.home_id")
            var person = StoreRules.normalized(person)
            try StoreRules.checkPreferredCounsellor(
                person.preferredCounsellorID, counsellorSite: try Self.siteOfCounsellor(db, person.preferredCounsellorID), siteID: home.siteID,
                field: "young_person.preferred_counsellor_id")
            if person.id.isEmpty { person.id = RecordID.make("yp") }
            guard try Self.fetchYoungPerson(db, person.id) == nil else {
                throw SchedulerError(.alreadyExists, "a young person with id \(person.id) exists", field: "young_person.id")
            }
            try db.run(
                sql: "INSERT INTO young_person (id, site_id, home_id, data) VALUES (?, ?, ?, ?)",
                arguments: [person.id, home.siteID, home.id, try StoreRules.youngPersonData(person)])
            try Self.bumpCounsellingVersion(db, home.siteID)
            return (person, ["young_person:\(person.id)"])
        }
    }

    public func youngPerson(id: String) async throws -> YoungPerson? {
        try await read { db in try Self.fetchYoungPerson(db, id)?.0 }
    }

    public func youngPersonSite(id: String) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT site_id FROM young_person WHERE id = ?", arguments: [id]) }
    }

    public func listYoungPeople(siteID: String?, homeID: String?, after: String?, limit: Int) async throws -> Page<YoungPerson> {
        try await counsellingPage(
            "SELECT * FROM young_person WHERE id > ? AND (? IS NULL OR site_id = ?) AND (? IS NULL OR home_id = ?) ORDER BY id",
            [after ?? "", siteID, siteID, homeID, homeID], limit: limit, map: Self.youngPerson, id: \.id)
    }

    public func updateYoungPerson(
        id: String, context: MutationContext, reply: @escaping @Sendable (YoungPerson) throws -> [UInt8],
        _ change: @escaping @Sendable (inout YoungPerson) throws -> Void
    ) async throws -> Mutated<YoungPerson> {
        try await mutate(context, reply: reply) { db, _ in
            let (old, siteID) = try Self.require(try Self.fetchYoungPerson(db, id), "young person", id, field: "young_person.id")
            var person = old
            try change(&person)
            person.id = old.id
            person = StoreRules.normalized(person)
            if person.homeID != old.homeID {
                try StoreRules.checkSameSite(
                    homeID: person.homeID, homeSite: try Self.fetchHome(db, person.homeID)?.siteID, siteID: siteID, field: "young_person.home_id")
            }
            try StoreRules.checkPreferredCounsellor(
                person.preferredCounsellorID, counsellorSite: try Self.siteOfCounsellor(db, person.preferredCounsellorID), siteID: siteID,
                field: "young_person.preferred_counsellor_id")
            try db.run(
                sql: "UPDATE young_person SET home_id = ?, data = ? WHERE id = ?", arguments: [person.homeID, try StoreRules.youngPersonData(person), id])
            try Self.bumpCounsellingVersion(db, siteID)
            return (person, ["young_person:\(id)"])
        }
    }

    // MARK: Counsellors

    public func createCounsellor(_ counsellor: Counsellor, context: MutationContext, reply: @escaping @Sendable (Counsellor) throws -> [UInt8]) async throws
        -> Mutated<Counsellor>
    {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, counsellor.siteID), "site", counsellor.siteID, field: "counsellor.site_id")
            var counsellor = counsellor
            if counsellor.id.isEmpty { counsellor.id = RecordID.make("cns") }
            guard try Self.fetchCounsellor(db, counsellor.id) == nil else {
                throw SchedulerError(.alreadyExists, "a counsellor with id \(counsellor.id) exists", field: "counsellor.id")
            }
            try db.run(
                sql: "INSERT INTO counsellor (id, site_id, data) VALUES (?, ?, ?)",
                arguments: [counsellor.id, counsellor.siteID, try StoreRules.counsellorData(counsellor)])
            try Self.bumpCounsellingVersion(db, counsellor.siteID)
            return (counsellor, ["counsellor:\(counsellor.id)"])
        }
    }

    public func counsellor(id: String) async throws -> Counsellor? {
        try await read { db in try Self.fetchCounsellor(db, id) }
    }

    public func listCounsellors(siteID: String, after: String?, limit: Int) async throws -> Page<Counsellor> {
        try await counsellingPage(
            "SELECT * FROM counsellor WHERE id > ? AND site_id = ? ORDER BY id", [after ?? "", siteID], limit: limit, map: Self.counsellor, id: \.id)
    }

    public func updateCounsellor(
        id: String, context: MutationContext, reply: @escaping @Sendable (Counsellor) throws -> [UInt8],
        _ change: @escaping @Sendable (inout Counsellor) throws -> Void
    ) async throws -> Mutated<Counsellor> {
        try await mutate(context, reply: reply) { db, _ in
            let old = try Self.require(try Self.fetchCounsellor(db, id), "counsellor", id, field: "counsellor.id")
            var counsellor = old
            try change(&counsellor)
            counsellor.id = old.id
            counsellor.siteID = old.siteID
            try db.run(sql: "UPDATE counsellor SET data = ? WHERE id = ?", arguments: [try StoreRules.counsellorData(counsellor), id])
            try Self.bumpCounsellingVersion(db, old.siteID)
            return (counsellor, ["counsellor:\(id)"])
        }
    }

    // MARK: Import

    public func importCounselling(
        siteID: String, homes: [Home], youngPeople: [YoungPerson], counsellors: [Counsellor], context: MutationContext,
        reply: @escaping @Sendable (CounsellingImportCounts) throws -> [UInt8]
    ) async throws -> Mutated<CounsellingImportCounts> {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, siteID), "site", siteID, field: "site_id")
            let ids = StoreRules.importLookups(homes: homes, youngPeople: youngPeople, counsellors: counsellors)
            var stored = StoreRules.CounsellingSites()
            stored.homes = try Self.sites(db, "home", ids.homes)
            stored.youngPeople = try Self.sites(db, "young_person", ids.youngPeople)
            stored.counsellors = try Self.sites(db, "counsellor", ids.counsellors)
            let checked = try StoreRules.checkImport(siteID: siteID, homes: homes, youngPeople: youngPeople, counsellors: counsellors, stored: stored)
            // Prepared once each, run per record: all inside this one transaction.
            let home = try db.cachedStatement(
                sql: "INSERT INTO home (id, site_id, name) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, name = excluded.name")
            for record in checked.homes { try home.execute(arguments: [record.id, siteID, record.name]) }
            let counsellor = try db.cachedStatement(
                sql:
                    "INSERT INTO counsellor (id, site_id, data) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, data = excluded.data"
            )
            for record in checked.counsellors { try counsellor.execute(arguments: [record.id, siteID, try StoreRules.counsellorData(record)]) }
            let person = try db.cachedStatement(
                sql: """
                    INSERT INTO young_person (id, site_id, home_id, data) VALUES (?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, home_id = excluded.home_id, data = excluded.data
                    """)
            for record in checked.youngPeople {
                try person.execute(arguments: [record.id, siteID, record.homeID, try StoreRules.youngPersonData(record)])
            }
            try Self.bumpCounsellingVersion(db, siteID)
            return (checked.counts, checked.records)
        }
    }

    // MARK: Snapshot and write

    public func counsellingSnapshot(siteID: String, from: CivilDate, to: CivilDate) async throws -> CounsellingSnapshot? {
        // One read transaction: the version and every row are of one moment.
        try await read { db in
            guard let site = try Self.fetchSite(db, siteID) else { return nil }
            let version = try Self.counsellingVersion(db, siteID)
            let homes = try db.rows(sql: "SELECT * FROM home WHERE site_id = ? ORDER BY id", arguments: [siteID]).map(Self.home)
            let people = try db.rows(sql: "SELECT * FROM young_person WHERE site_id = ? ORDER BY id", arguments: [siteID]).map(Self.youngPerson)
            let counsellors = try db.rows(sql: "SELECT * FROM counsellor WHERE site_id = ? ORDER BY id", arguments: [siteID]).map(Self.counsellor)
            let sessions = try db.rows(
                sql: "SELECT * FROM counselling_session WHERE site_id = ? AND day >= ? AND day <= ? ORDER BY day, start_minute, id",
                arguments: [siteID, from.dayNumber, to.dayNumber]
            ).map(Self.storedSession)
            var last: [String: String] = [:]
            for row in try db.rows(sql: Self.lastCounsellorSQL, arguments: [from.dayNumber, siteID]) {
                let row = StoredRow(row, "counselling_session")
                if let counsellor: String = try row[1, "counsellor_id"] { last[try row[0, "young_person.id"]] = counsellor }
            }
            return CounsellingSnapshot(
                site: site, version: version, homes: homes, youngPeople: people, counsellors: counsellors, sessions: sessions, lastCounsellor: last)
        }
    }

    /// Each young person of a site (`?2`) with the counsellor of their latest session not
    /// cancelled before day `?1` (NULL if none): one index probe per young person.
    static let lastCounsellorSQL = """
        SELECT y.id, (
            SELECT s.counsellor_id FROM counselling_session s
            WHERE s.young_person_id = y.id AND s.day < ? AND s.status <> 'CANCELLED'
            ORDER BY s.day DESC, s.start_minute DESC, s.id DESC LIMIT 1
        ) FROM young_person y WHERE y.site_id = ?
        """

    public func writeCounselling(
        siteID: String, expectedVersion: Int64, _ write: CounsellingWrite, context: MutationContext, reply: @escaping @Sendable (Int64) throws -> [UInt8]
    ) async throws -> Mutated<Int64> {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, siteID), "site", siteID, field: "site_id")
            guard try Self.counsellingVersion(db, siteID) == expectedVersion else { throw StoreRules.staleCounselling(siteID: siteID) }
            let ids = StoreRules.writeLookups(write)
            var stored = StoreRules.CounsellingSites()
            stored.homes = try Self.sites(db, "home", ids.homes)
            stored.youngPeople = try Self.sites(db, "young_person", ids.youngPeople)
            stored.counsellors = try Self.sites(db, "counsellor", ids.counsellors)
            stored.sessions = try Self.sites(db, "counselling_session", ids.sessions)
            let checked = try StoreRules.checkWrite(siteID: siteID, write, stored: stored)
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO counselling_session (id, site_id, young_person_id, counsellor_id, home_id, day, start_minute, minutes, status, pinned, sequence)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, young_person_id = excluded.young_person_id,
                        counsellor_id = excluded.counsellor_id, home_id = excluded.home_id, day = excluded.day, start_minute = excluded.start_minute,
                        minutes = excluded.minutes, status = excluded.status, pinned = excluded.pinned, sequence = excluded.sequence
                    """)
            for stored in checked.sessions {
                let session = stored.session
                try upsert.execute(arguments: [
                    session.id, siteID, session.youngPersonID, session.counsellorID, session.homeID, session.date.dayNumber, session.start,
                    session.minutes, session.status.rawValue, session.pinned, stored.sequence,
                ])
            }
            for counsellor in checked.counsellors {
                try db.run(sql: "UPDATE counsellor SET data = ? WHERE id = ?", arguments: [try StoreRules.counsellorData(counsellor), counsellor.id])
            }
            return (try Self.bumpCounsellingVersion(db, siteID), checked.records)
        }
    }

    // MARK: Sessions

    public func session(id: String) async throws -> StoredSession? {
        try await read { db in try db.row(sql: "SELECT * FROM counselling_session WHERE id = ?", arguments: [id]).map(Self.storedSession) }
    }

    public func sessions(counsellorID: String?, youngPersonID: String?, from: CivilDate, to: CivilDate, includeCancelled: Bool) async throws
        -> [StoredSession]
    {
        guard counsellorID != nil || youngPersonID != nil else { throw StoreRules.sessionsFilterNeeded() }
        // Only the given ids are in the query, so SQLite can use the index on (counsellor_id, day) or (young_person_id, day).
        var conditions = ["day >= ?", "day <= ?"]
        var values: [String] = []
        if let counsellorID {
            conditions.append("counsellor_id = ?")
            values.append(counsellorID)
        }
        if let youngPersonID {
            conditions.append("young_person_id = ?")
            values.append(youngPersonID)
        }
        let arguments = StatementArguments([from.dayNumber, to.dayNumber]) + StatementArguments(values)
        if !includeCancelled { conditions.append("status <> 'CANCELLED'") }
        let sql = "SELECT * FROM counselling_session WHERE \(conditions.joined(separator: " AND ")) ORDER BY day, start_minute, id"
        return try await read { db in
            try db.rows(sql: sql, arguments: arguments).map(Self.storedSession)
        }
    }
}
