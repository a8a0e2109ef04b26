import Foundation
import GRDB
import SchedulerCore

/// Mentor sessions on SQLite. Mentor sessions and counsellor sessions take the same young
/// people's time, so every mentoring change bumps the site's row of `counselling_version` in its
/// transaction, as counselling changes do; SQLite runs one write at a time, so `saveMentorBatch`
/// checks the version and writes with nothing between.
extension SQLiteStore {
    static func registerMentoringMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-mentoring") { db in
            try db.execute(
                sql: """
                    CREATE TABLE mentor (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        fields TEXT NOT NULL,
                        data TEXT NOT NULL
                    );
                    CREATE INDEX mentor_site ON mentor(site_id);
                    CREATE TABLE mentor_batch (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        input_digest BLOB NOT NULL,
                        answer BLOB NOT NULL,
                        created_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX mentor_batch_site ON mentor_batch(site_id);
                    CREATE TABLE mentor_session (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        mentor_id TEXT NOT NULL REFERENCES mentor(id),
                        young_person_id TEXT NOT NULL REFERENCES young_person(id),
                        batch_id TEXT REFERENCES mentor_batch(id),
                        day INTEGER NOT NULL,
                        start_minute INTEGER NOT NULL,
                        minutes INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        sequence INTEGER NOT NULL
                    );
                    CREATE INDEX mentor_session_site ON mentor_session(site_id, day);
                    CREATE INDEX mentor_session_young_person ON mentor_session(young_person_id, day);
                    CREATE INDEX mentor_session_batch ON mentor_session(batch_id);
                    CREATE INDEX mentor_session_mentor ON mentor_session(site_id, mentor_id, young_person_id, status, day);
                    """)
        }
    }

    // MARK: Rows

    static func mentor(_ row: Row) throws -> Mentor {
        let row = StoredRow(row, "mentor")
        return try StoreRules.mentor(id: row["id"], siteID: row["site_id"], data: row["data"])
    }

    /// `mentor_session`'s columns in the order `storedMentorSession` reads them: by position,
    /// not by name (a snapshot or a listing reads tens of thousands of rows).
    static let mentorSessionColumns = "id, site_id, mentor_id, young_person_id, batch_id, day, start_minute, minutes, status, sequence"

    static func storedMentorSession(_ row: Row) throws -> StoredMentorSession {
        let row = StoredRow(row, "mentor_session")
        return try StoreRules.mentorSession(
            id: row[0, "id"], siteID: row[1, "site_id"], mentorID: row[2, "mentor_id"], youngPersonID: row[3, "young_person_id"],
            batchID: row[4, "batch_id"], day: row[5, "day"], start: row[6, "start_minute"], minutes: row[7, "minutes"], status: row[8, "status"],
            sequence: row[9, "sequence"])
    }

    static func mentorBatch(_ row: Row) throws -> StoredMentorBatch {
        let row = StoredRow(row, "mentor_batch")
        let digest: Data = try row["input_digest"], answer: Data = try row["answer"]
        return StoreRules.mentorBatch(
            id: try row["id"], siteID: try row["site_id"], inputDigest: Array(digest), answer: Array(answer), createdAtMS: try row["created_at_ms"])
    }

    static func fetchMentor(_ db: Database, _ id: String) throws -> Mentor? {
        try db.row(sql: "SELECT * FROM mentor WHERE id = ?", arguments: [id]).map(mentor)
    }

    /// The stored sessions among `ids`, by id (a query per 500 ids).
    static func fetchMentorSessions(_ db: Database, _ ids: [String]) throws -> [String: StoredMentorSession] {
        var sessions: [String: StoredMentorSession] = [:]
        for slice in ids.chunked(500) {
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(Self.mentorSessionColumns) FROM mentor_session WHERE id IN (\(placeholders(slice.count)))",
                arguments: StatementArguments(Array(slice)))
            for row in rows {
                let session = try storedMentorSession(row)
                sessions[session.id] = session
            }
        }
        return sessions
    }

    // MARK: Mentors

    public func createMentor(_ mentor: Mentor, context: MutationContext, reply: @escaping @Sendable (Mentor) throws -> [UInt8]) async throws -> Mutated<Mentor>
    {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, mentor.siteID), "site", mentor.siteID, field: "mentor.site_id")
            try StoreRules.checkMentor(mentor, field: "mentor")
            var mentor = mentor
            if mentor.id.isEmpty { mentor.id = RecordID.make("mnt") }
            guard try Self.fetchMentor(db, mentor.id) == nil else {
                throw SchedulerError(.alreadyExists, "a mentor with id \(mentor.id) exists", field: "mentor.id")
            }
            try db.run(
                sql: "INSERT INTO mentor (id, site_id, fields, data) VALUES (?, ?, ?, ?)",
                arguments: [mentor.id, mentor.siteID, StoreRules.mentorFieldsText(mentor.fields), try StoreRules.mentorData(mentor)])
            try Self.bumpCounsellingVersion(db, mentor.siteID)
            return (mentor, ["mentor:\(mentor.id)"])
        }
    }

    public func mentor(id: String) async throws -> Mentor? {
        try await read { db in try Self.fetchMentor(db, id) }
    }

    public func listMentors(siteID: String, field: String?, after: String?, limit: Int) async throws -> Page<Mentor> {
        var needle: String?
        if let field {
            guard let text = StoreRules.mentorFieldNeedle(field) else { return Page(items: [], next: nil) }
            needle = text
        }
        return try await counsellingPage(
            "SELECT * FROM mentor WHERE id > ? AND site_id = ? AND (? IS NULL OR instr(fields, ?) > 0) ORDER BY id", [after ?? "", siteID, needle, needle],
            limit: limit, map: Self.mentor, id: \.id)
    }

    public func updateMentor(
        id: String, context: MutationContext, reply: @escaping @Sendable (Mentor) throws -> [UInt8], _ change: @escaping @Sendable (inout Mentor) throws -> Void
    ) async throws -> Mutated<Mentor> {
        try await mutate(context, reply: reply) { db, _ in
            let old = try Self.require(try Self.fetchMentor(db, id), "mentor", id, field: "mentor.id")
            var mentor = old
            try change(&mentor)
            // A mentor stays at its site (its sessions are there).
            mentor.id = old.id
            mentor.siteID = old.siteID
            try StoreRules.checkMentor(mentor, field: "mentor")
            try db.run(
                sql: "UPDATE mentor SET fields = ?, data = ? WHERE id = ?",
                arguments: [StoreRules.mentorFieldsText(mentor.fields), try StoreRules.mentorData(mentor), id])
            try Self.bumpCounsellingVersion(db, old.siteID)
            return (mentor, ["mentor:\(id)"])
        }
    }

    public func importMentors(
        siteID: String, mentors: [Mentor], context: MutationContext, reply: @escaping @Sendable (MentorImportCounts) throws -> [UInt8]
    ) async throws -> Mutated<MentorImportCounts> {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, siteID), "site", siteID, field: "site_id")
            let stored = try Self.sites(db, "mentor", Set(mentors.map(\.id)).sorted())
            let checked = try StoreRules.checkMentorImport(siteID: siteID, mentors: mentors, stored: stored)
            // Prepared once, run per mentor: all inside this one transaction.
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO mentor (id, site_id, fields, data) VALUES (?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, fields = excluded.fields, data = excluded.data
                    """)
            for mentor in checked.mentors {
                try upsert.execute(arguments: [mentor.id, siteID, StoreRules.mentorFieldsText(mentor.fields), try StoreRules.mentorData(mentor)])
            }
            try Self.bumpCounsellingVersion(db, siteID)
            return (checked.counts, checked.records)
        }
    }

    // MARK: Snapshot and batches

    public func mentoringSnapshot(siteID: String, from: CivilDate, to: CivilDate) async throws -> MentoringSnapshot? {
        // One read transaction: the version and every row are of one moment.
        try await read { db in
            guard let site = try Self.fetchSite(db, siteID) else { return nil }
            let version = try Self.counsellingVersion(db, siteID)
            let mentors = try db.values(sql: "SELECT * FROM mentor WHERE site_id = ? ORDER BY id", arguments: [siteID], Self.mentor)
            // Columns by position: thousands of rows.
            let people = try db.values(sql: "SELECT id, home_id, data FROM young_person WHERE site_id = ? ORDER BY id", arguments: [siteID]) { row in
                let row = StoredRow(row, "young_person")
                return try StoreRules.youngPerson(id: row[0, "id"], homeID: row[1, "home_id"], data: row[2, "data"])
            }
            let counselling = try db.values(
                sql: """
                    SELECT id, site_id, young_person_id, counsellor_id, home_id, day, start_minute, minutes, status, pinned, sequence
                    FROM counselling_session WHERE site_id = ? AND day >= ? AND day <= ? AND status <> 'CANCELLED'
                    ORDER BY day, start_minute, id
                    """,
                arguments: [siteID, from.dayNumber, to.dayNumber]
            ) { row in
                let row = StoredRow(row, "counselling_session")
                return try StoreRules.session(
                    id: row[0, "id"], siteID: row[1, "site_id"], youngPersonID: row[2, "young_person_id"], counsellorID: row[3, "counsellor_id"],
                    homeID: row[4, "home_id"], day: row[5, "day"], start: row[6, "start_minute"], minutes: row[7, "minutes"], status: row[8, "status"],
                    pinned: row[9, "pinned"], sequence: row[10, "sequence"]
                ).session
            }
            let sessions = try db.values(
                sql: """
                    SELECT \(Self.mentorSessionColumns) FROM mentor_session WHERE site_id = ? AND day >= ? AND day <= ? AND status <> 'cancelled'
                    ORDER BY day, start_minute, id
                    """,
                arguments: [siteID, from.dayNumber, to.dayNumber], Self.storedMentorSession)
            let pairs = try db.values(sql: Self.mentorPairsSQL, arguments: [siteID]) { row in
                let row = StoredRow(row, "mentor_session")
                return MentorPair(
                    mentorID: try row[0, "mentor_id"], youngPersonID: try row[1, "young_person_id"],
                    lastDate: try StoreRules.storedDay(try row[2, "day"], "mentor_session.day"))
            }
            return MentoringSnapshot(
                site: site, version: version, mentors: mentors, youngPeople: people, counsellingSessions: counselling, mentorSessions: sessions, pairs: pairs)
        }
    }

    /// Each pair (mentor, young person) of a site (`?1`) with a session not cancelled, and the
    /// day of their latest such session: read from the index `mentor_session_mentor` alone, in
    /// its order (a site's sessions of every batch so far; with the index on site and day instead
    /// it was a sort of all of them, 5 times slower at 100,000).
    static let mentorPairsSQL = """
        SELECT mentor_id, young_person_id, max(day) FROM mentor_session WHERE site_id = ? AND status <> 'cancelled'
        GROUP BY mentor_id, young_person_id ORDER BY mentor_id, young_person_id
        """

    public func mentorBatch(id: String) async throws -> StoredMentorBatch? {
        try await read { db in try db.row(sql: "SELECT * FROM mentor_batch WHERE id = ?", arguments: [id]).map(Self.mentorBatch) }
    }

    public func saveMentorBatch(
        _ batch: StoredMentorBatch, sessions: [StoredMentorSession], expectedVersion: Int64, context: MutationContext,
        reply: @escaping @Sendable (StoredMentorBatch) throws -> [UInt8]
    ) async throws -> Mutated<StoredMentorBatch> {
        try await mutate(context, reply: reply) { db, _ in
            let siteID = batch.siteID
            _ = try Self.require(try Self.fetchSite(db, siteID), "site", siteID, field: "site_id")
            // A batch saved meanwhile under this id is told apart from any other change: the
            // caller answers it (or refuses other input) instead of deciding again.
            if try db.int(sql: "SELECT 1 FROM mentor_batch WHERE id = ?", arguments: [batch.id]) != nil { throw StoreRules.mentorBatchExists(batch.id) }
            guard try Self.counsellingVersion(db, siteID) == expectedVersion else { throw StoreRules.staleMentoring(siteID: siteID) }
            let ids = StoreRules.mentorBatchLookups(sessions)
            let checked = try StoreRules.checkMentorBatch(
                batch, sessions: sessions, mentors: try Self.sites(db, "mentor", ids.mentors), youngPeople: try Self.sites(db, "young_person", ids.youngPeople))
            try db.run(
                sql: "INSERT INTO mentor_batch (id, site_id, input_digest, answer, created_at_ms) VALUES (?, ?, ?, ?, ?)",
                arguments: [batch.id, siteID, Data(batch.inputDigest), Data(batch.answer), batch.createdAt.millisecondsSince1970])
            // Prepared once, run per session; an id stored already inserts nothing and is refused.
            let insert = try BulkInsert(
                db,
                sql: """
                    INSERT INTO mentor_session (id, site_id, mentor_id, young_person_id, batch_id, day, start_minute, minutes, status, sequence)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                    """)
            for (index, stored) in checked.enumerated() {
                let session = stored.session
                let inserted = try insert.run { row in
                    try row.text(session.id)
                    try row.text(siteID)
                    try row.text(session.mentorID)
                    try row.text(session.youngPersonID)
                    try row.text(batch.id)
                    try row.int(session.date.dayNumber)
                    try row.int(session.start)
                    try row.int(session.minutes)
                    try row.text(stored.status.rawValue)
                    try row.int(stored.sequence)
                }
                guard inserted == 1 else { throw StoreRules.mentorSessionExists(session.id, index: index) }
            }
            try Self.bumpCounsellingVersion(db, siteID)
            return (batch, ["mentor_batch:\(batch.id)"])
        }
    }

    // MARK: Sessions

    public func mentorSession(id: String) async throws -> StoredMentorSession? {
        try await read { db in
            try db.row(sql: "SELECT \(Self.mentorSessionColumns) FROM mentor_session WHERE id = ?", arguments: [id]).map(Self.storedMentorSession)
        }
    }

    public func mentorSessions(_ filter: MentorSessionFilter, after: String?, limit: Int) async throws -> Page<StoredMentorSession> {
        let cursor = try StoreRules.mentorSessionCursor(after)
        // Only the filters given are in the query, so SQLite can pick the index of the narrowest.
        var conditions = ["site_id = ?"]
        var arguments: StatementArguments = [filter.siteID]
        if let mentorID = filter.mentorID {
            conditions.append("mentor_id = ?")
            arguments += [mentorID]
        }
        if let youngPersonID = filter.youngPersonID {
            conditions.append("young_person_id = ?")
            arguments += [youngPersonID]
        }
        if let batchID = filter.batchID {
            conditions.append("batch_id = ?")
            arguments += [batchID]
        }
        if let from = filter.from {
            conditions.append("day >= ?")
            arguments += [from.dayNumber]
        }
        if let to = filter.to {
            conditions.append("day <= ?")
            arguments += [to.dayNumber]
        }
        if !filter.includeCancelled { conditions.append("status <> 'cancelled'") }
        if let cursor {
            conditions.append("day >= ? AND (day, start_minute, id) > (?, ?, ?)")
            arguments += [cursor.day, cursor.day, cursor.start, cursor.id]
        }
        return try await counsellingPage(
            "SELECT \(Self.mentorSessionColumns) FROM mentor_session WHERE \(conditions.joined(separator: " AND ")) ORDER BY day, start_minute, id",
            arguments, limit: limit, map: Self.storedMentorSession, id: StoreRules.mentorSessionCursor(of:))
    }

    public func writeMentorSessions(
        siteID: String, _ sessions: [StoredMentorSession], records: [String], context: MutationContext,
        reply: @escaping @Sendable ([StoredMentorSession]) throws -> [UInt8]
    ) async throws -> Mutated<[StoredMentorSession]> {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, siteID), "site", siteID, field: "site_id")
            let stored = try Self.fetchMentorSessions(db, Set(sessions.map(\.id)).sorted())
            let checked = try StoreRules.checkMentorSessionWrite(siteID: siteID, sessions, stored: stored)
            let update = try db.cachedStatement(sql: "UPDATE mentor_session SET day = ?, start_minute = ?, minutes = ?, status = ?, sequence = ? WHERE id = ?")
            for stored in checked {
                let session = stored.session
                try update.execute(arguments: [session.date.dayNumber, session.start, session.minutes, stored.status.rawValue, stored.sequence, session.id])
            }
            try Self.bumpCounsellingVersion(db, siteID)
            return (checked, checked.map { "mentor_session:\($0.id)" } + records)
        }
    }
}
