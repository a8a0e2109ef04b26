import Foundation
import PostgresNIO
import SchedulerCore

/// Mentor sessions on PostgreSQL. Every mentoring change first takes the site's row of
/// `counselling_version` (moving it on by one), as counselling changes do: mentor sessions and
/// counsellor sessions take the same young people's time, so all of a site's changes to either
/// take turns across servers, and take that lock before any other row's. `saveMentorBatch`
/// compares the version it moved on: a batch decided from an older snapshot is refused.
extension PostgresStore {
    // MARK: Rows (columns by position)

    static let mentorColumns = "id, site_id, data"
    static let mentorSessionColumns = "id, site_id, mentor_id, young_person_id, batch_id, day, start_minute, minutes, status, sequence"
    static let mentorBatchColumns = "id, site_id, input_digest, answer, created_at_ms"

    static func mentor(_ row: PostgresRandomAccessRow) throws -> Mentor {
        try StoreRules.mentor(id: try row.text(0), siteID: try row.text(1), data: try row.text(2))
    }

    static func storedMentorSession(_ row: PostgresRandomAccessRow) throws -> StoredMentorSession {
        try StoreRules.mentorSession(
            id: try row.text(0), siteID: try row.text(1), mentorID: try row.text(2), youngPersonID: try row.text(3), batchID: try row.optionalText(4),
            day: try row.int(5), start: try row.int(6), minutes: try row.int(7), status: try row.text(8), sequence: try row.int(9))
    }

    static func mentorBatch(_ row: PostgresRandomAccessRow) throws -> StoredMentorBatch {
        StoreRules.mentorBatch(
            id: try row.text(0), siteID: try row.text(1), inputDigest: try row.bytes(2), answer: try row.bytes(3), createdAtMS: Int64(try row.int(4)))
    }

    func fetchMentor(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> Mentor? {
        try await tx.row("SELECT \(unescaped: Self.mentorColumns) FROM mentor WHERE id = \(id)\(unescaped: lock ? " FOR NO KEY UPDATE" : "")")
            .map(Self.mentor)
    }

    /// The stored sites of the mentors and young people named, in one round trip.
    func mentoringSites(_ tx: PostgresTransaction, mentors: [String], youngPeople: [String]) async throws -> (
        mentors: [String: String], youngPeople: [String: String]
    ) {
        var sites: (mentors: [String: String], youngPeople: [String: String]) = ([:], [:])
        let rows = try await tx.rows(
            """
            SELECT 0, id, site_id FROM mentor WHERE id = ANY(\(mentors))
            UNION ALL SELECT 1, id, site_id FROM young_person WHERE id = ANY(\(youngPeople))
            """)
        for row in rows {
            if try row.int(0) == 0 {
                sites.mentors[try row.text(1)] = try row.text(2)
            } else {
                sites.youngPeople[try row.text(1)] = try row.text(2)
            }
        }
        return sites
    }

    // MARK: Mentors

    public func createMentor(_ mentor: Mentor, context: MutationContext, reply: @escaping @Sendable (Mentor) throws -> [UInt8]) async throws -> Mutated<Mentor>
    {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, mentor.siteID), "site", mentor.siteID, field: "mentor.site_id")
            try StoreRules.checkMentor(mentor, field: "mentor")
            var mentor = mentor
            if mentor.id.isEmpty { mentor.id = RecordID.make("mnt") }
            try await bumpCounsellingVersion(tx, mentor.siteID)
            guard try await fetchMentor(tx, mentor.id) == nil else {
                throw SchedulerError(.alreadyExists, "a mentor with id \(mentor.id) exists", field: "mentor.id")
            }
            try await tx.run(
                """
                INSERT INTO mentor (id, site_id, fields, data)
                VALUES (\(mentor.id), \(mentor.siteID), \(StoreRules.mentorFieldsText(mentor.fields)), \(try StoreRules.mentorData(mentor)))
                """)
            return (mentor, ["mentor:\(mentor.id)"])
        }
    }

    public func mentor(id: String) async throws -> Mentor? {
        try await read { tx in try await fetchMentor(tx, id) }
    }

    public func listMentors(siteID: String, field: String?, after: String?, limit: Int) async throws -> Page<Mentor> {
        var needle: String?
        if let field {
            guard let text = StoreRules.mentorFieldNeedle(field) else { return Page(items: [], next: nil) }
            needle = text
        }
        return try await counsellingPage(
            """
            SELECT \(unescaped: Self.mentorColumns) FROM mentor
            WHERE id > \(after ?? "") AND site_id = \(siteID) AND (\(needle)::text IS NULL OR strpos(fields, \(needle)) > 0) ORDER BY id
            """, limit: limit, map: Self.mentor, id: \.id)
    }

    public func updateMentor(
        id: String, context: MutationContext, reply: @escaping @Sendable (Mentor) throws -> [UInt8], _ change: @escaping @Sendable (inout Mentor) throws -> Void
    ) async throws -> Mutated<Mentor> {
        try await mutate(context, reply: reply) { tx in
            // A mentor never changes site: read unlocked, it names the version to lock first.
            let site = try StoreRules.require(try await fetchMentor(tx, id), "mentor", id, field: "mentor.id").siteID
            try await bumpCounsellingVersion(tx, site)
            let old = try StoreRules.require(try await fetchMentor(tx, id, lock: true), "mentor", id, field: "mentor.id")
            var mentor = old
            try change(&mentor)
            mentor.id = old.id
            mentor.siteID = old.siteID
            try StoreRules.checkMentor(mentor, field: "mentor")
            try await tx.run(
                "UPDATE mentor SET fields = \(StoreRules.mentorFieldsText(mentor.fields)), data = \(try StoreRules.mentorData(mentor)) WHERE id = \(id)")
            return (mentor, ["mentor:\(id)"])
        }
    }

    public func importMentors(
        siteID: String, mentors: [Mentor], context: MutationContext, reply: @escaping @Sendable (MentorImportCounts) throws -> [UInt8]
    ) async throws -> Mutated<MentorImportCounts> {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, siteID), "site", siteID, field: "site_id")
            try await bumpCounsellingVersion(tx, siteID)
            let stored = try await mentoringSites(tx, mentors: Set(mentors.map(\.id)).sorted(), youngPeople: []).mentors
            let checked = try StoreRules.checkMentorImport(siteID: siteID, mentors: mentors, stored: stored)
            for slice in checked.mentors.chunked(Self.counsellingChunk) {
                let fields = slice.map { StoreRules.mentorFieldsText($0.fields) }
                let data = try slice.map(StoreRules.mentorData)
                try await tx.run(
                    """
                    INSERT INTO mentor (id, site_id, fields, data)
                    SELECT i, \(siteID), f, d FROM UNNEST(\(slice.map(\.id))::text[], \(fields)::text[], \(data)::text[]) AS t(i, f, d)
                    ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, fields = excluded.fields, data = excluded.data
                    """)
            }
            return (checked.counts, checked.records)
        }
    }

    // MARK: Snapshot and batches

    public func mentoringSnapshot(siteID: String, from: CivilDate, to: CivilDate) async throws -> MentoringSnapshot? {
        // One REPEATABLE READ transaction: the version and every row are of one snapshot.
        try await read { tx in
            guard let site = try await fetchSite(tx, siteID) else { return nil }
            let version = try await counsellingVersion(tx, siteID)
            let mentors = try await tx.rows("SELECT \(unescaped: Self.mentorColumns) FROM mentor WHERE site_id = \(siteID) ORDER BY id").map(Self.mentor)
            let people = try await tx.rows("SELECT \(unescaped: Self.youngPersonColumns) FROM young_person WHERE site_id = \(siteID) ORDER BY id")
                .map(Self.youngPerson)
            let counselling = try await tx.rows(
                """
                SELECT \(unescaped: Self.sessionColumns) FROM counselling_session
                WHERE site_id = \(siteID) AND day >= \(from.dayNumber) AND day <= \(to.dayNumber) AND status <> 'CANCELLED'
                ORDER BY day, start_minute, id
                """
            ).map { try Self.storedSession($0).session }
            let sessions = try await tx.rows(
                """
                SELECT \(unescaped: Self.mentorSessionColumns) FROM mentor_session
                WHERE site_id = \(siteID) AND day >= \(from.dayNumber) AND day <= \(to.dayNumber) AND status <> 'cancelled'
                ORDER BY day, start_minute, id
                """
            ).map(Self.storedMentorSession)
            let pairs = try await tx.rows(
                """
                SELECT mentor_id, young_person_id, max(day) FROM mentor_session WHERE site_id = \(siteID) AND status <> 'cancelled'
                GROUP BY mentor_id, young_person_id ORDER BY mentor_id, young_person_id
                """
            ).map { row in
                MentorPair(
                    mentorID: try row.text(0), youngPersonID: try row.text(1), lastDate: try StoreRules.storedDay(try row.int(2), "mentor_session.day"))
            }
            return MentoringSnapshot(
                site: site, version: version, mentors: mentors, youngPeople: people, counsellingSessions: counselling, mentorSessions: sessions, pairs: pairs)
        }
    }

    public func mentorBatch(id: String) async throws -> StoredMentorBatch? {
        try await read { tx in
            try await tx.row("SELECT \(unescaped: Self.mentorBatchColumns) FROM mentor_batch WHERE id = \(id)").map(Self.mentorBatch)
        }
    }

    public func saveMentorBatch(
        _ batch: StoredMentorBatch, sessions: [StoredMentorSession], expectedVersion: Int64, context: MutationContext,
        reply: @escaping @Sendable (StoredMentorBatch) throws -> [UInt8]
    ) async throws -> Mutated<StoredMentorBatch> {
        try await mutate(context, reply: reply) { tx in
            let siteID = batch.siteID
            _ = try StoreRules.require(try await fetchSite(tx, siteID), "site", siteID, field: "site_id")
            // The site's version row, locked and moved on, from its last committed value: a saver
            // that waited here for another sees that one's version (and its batch), not the
            // version of its own snapshot.
            let version = try await bumpCounsellingVersion(tx, siteID)
            if try await tx.row("SELECT 1 FROM mentor_batch WHERE id = \(batch.id)") != nil { throw StoreRules.mentorBatchExists(batch.id) }
            guard version - 1 == expectedVersion else { throw StoreRules.staleMentoring(siteID: siteID) }
            let ids = StoreRules.mentorBatchLookups(sessions)
            let stored = try await mentoringSites(tx, mentors: ids.mentors, youngPeople: ids.youngPeople)
            let checked = try StoreRules.checkMentorBatch(batch, sessions: sessions, mentors: stored.mentors, youngPeople: stored.youngPeople)
            try await tx.run(
                """
                INSERT INTO mentor_batch (id, site_id, input_digest, answer, created_at_ms)
                VALUES (\(batch.id), \(siteID), \(Data(batch.inputDigest)), \(Data(batch.answer)), \(batch.createdAt.millisecondsSince1970))
                """)
            for (number, slice) in checked.chunked(Self.counsellingChunk).enumerated() {
                let sessions = slice.map(\.session)
                // An id stored already (or twice in the batch) inserts nothing: fewer ids come back.
                let inserted = try await tx.rows(
                    """
                    INSERT INTO mentor_session (\(unescaped: Self.mentorSessionColumns))
                    SELECT i, \(siteID), m, y, \(batch.id), d, s, n, st, q
                    FROM UNNEST(\(sessions.map(\.id))::text[], \(sessions.map(\.mentorID))::text[], \(sessions.map(\.youngPersonID))::text[],
                                \(sessions.map { Int64($0.date.dayNumber) })::int8[], \(sessions.map { Int64($0.start) })::int8[],
                                \(sessions.map { Int64($0.minutes) })::int8[], \(slice.map(\.status.rawValue))::text[],
                                \(slice.map { Int64($0.sequence) })::int8[]) AS t(i, m, y, d, s, n, st, q)
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """)
                if inserted.count != slice.count {
                    var fresh = Set(try inserted.map { try $0.text(0) })
                    // The first id not inserted, or given a second time.
                    for (offset, session) in sessions.enumerated() where fresh.remove(session.id) == nil {
                        throw StoreRules.mentorSessionExists(session.id, index: number * Self.counsellingChunk + offset)
                    }
                    throw SchedulerStoreError.internal("a batch's sessions were not all inserted")
                }
            }
            return (batch, ["mentor_batch:\(batch.id)"])
        }
    }

    // MARK: Sessions

    public func mentorSession(id: String) async throws -> StoredMentorSession? {
        try await read { tx in
            try await tx.row("SELECT \(unescaped: Self.mentorSessionColumns) FROM mentor_session WHERE id = \(id)").map(Self.storedMentorSession)
        }
    }

    public func mentorSessions(_ filter: MentorSessionFilter, after: String?, limit: Int) async throws -> Page<StoredMentorSession> {
        let cursor = try StoreRules.mentorSessionCursor(after)
        let from = filter.from.map { Int64($0.dayNumber) }, to = filter.to.map { Int64($0.dayNumber) }
        let afterDay = cursor.map { Int64($0.day) }, afterStart = cursor.map { Int64($0.start) }, afterID = cursor?.id
        // Planned with the values bound (an unnamed statement): the conditions of filters not
        // given fall away, and the narrowest filter's index is used.
        return try await counsellingPage(
            """
            SELECT \(unescaped: Self.mentorSessionColumns) FROM mentor_session
            WHERE site_id = \(filter.siteID)
              AND (\(filter.mentorID)::text IS NULL OR mentor_id = \(filter.mentorID))
              AND (\(filter.youngPersonID)::text IS NULL OR young_person_id = \(filter.youngPersonID))
              AND (\(filter.batchID)::text IS NULL OR batch_id = \(filter.batchID))
              AND (\(from)::int8 IS NULL OR day >= \(from)) AND (\(to)::int8 IS NULL OR day <= \(to))
              AND (\(filter.includeCancelled) OR status <> 'cancelled')
              AND (\(afterDay)::int8 IS NULL OR (day >= \(afterDay) AND (day, start_minute, id) > (\(afterDay), \(afterStart), \(afterID)::text)))
            ORDER BY day, start_minute, id
            """, limit: limit, map: Self.storedMentorSession, id: StoreRules.mentorSessionCursor(of:))
    }

    public func writeMentorSessions(
        siteID: String, _ sessions: [StoredMentorSession], records: [String], context: MutationContext,
        reply: @escaping @Sendable ([StoredMentorSession]) throws -> [UInt8]
    ) async throws -> Mutated<[StoredMentorSession]> {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, siteID), "site", siteID, field: "site_id")
            try await bumpCounsellingVersion(tx, siteID)
            var stored: [String: StoredMentorSession] = [:]
            for row in try await tx.rows(
                "SELECT \(unescaped: Self.mentorSessionColumns) FROM mentor_session WHERE id = ANY(\(Set(sessions.map(\.id)).sorted()))")
            {
                let session = try Self.storedMentorSession(row)
                stored[session.id] = session
            }
            let checked = try StoreRules.checkMentorSessionWrite(siteID: siteID, sessions, stored: stored)
            for slice in checked.chunked(Self.counsellingChunk) {
                let sessions = slice.map(\.session)
                try await tx.run(
                    """
                    UPDATE mentor_session SET day = t.d, start_minute = t.s, minutes = t.n, status = t.st, sequence = t.q
                    FROM UNNEST(\(sessions.map(\.id))::text[], \(sessions.map { Int64($0.date.dayNumber) })::int8[], \(sessions.map { Int64($0.start) })::int8[],
                                \(sessions.map { Int64($0.minutes) })::int8[], \(slice.map(\.status.rawValue))::text[],
                                \(slice.map { Int64($0.sequence) })::int8[]) AS t(i, d, s, n, st, q)
                    WHERE mentor_session.id = t.i
                    """)
            }
            return (checked, checked.map { "mentor_session:\($0.id)" } + records)
        }
    }
}
