import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// Mentors, saved batches, snapshots, cancellations and listings of mentor sessions; every test
/// runs once per `StoreKind`, on a real SQLite file and a real PostgreSQL database.
struct MentoringStoreTests {
    func context(key: String? = nil, digest: [UInt8] = [1], method: String = "/test/Mentoring") -> MutationContext {
        MutationContext(actor: "tok_test", method: method, idempotencyKey: key, requestDigest: digest)
    }

    static let week = CivilDate(parsing: "2030-09-02")!

    static func day(_ offset: Int) -> CivilDate { week.adding(days: offset) }

    static let weekdays = Availability(windows: [WeeklyWindow(parsing: "mon 09:00-17:00")!, WeeklyWindow(parsing: "wed 13:00-18:30")!])

    static func mentor(_ id: String, site: String = "almaty", fields: Set<String>, capacity: Int = 3) -> Mentor {
        Mentor(id: id, siteID: site, organisation: "Org \(id)", name: "Mentor \(id)", fields: fields, capacity: capacity, availability: weekdays)
    }

    /// Two sites. Almaty: a home, a counsellor, young people yp-a, yp-b, yp-c, mentors m-it (it,
    /// finance) and m-crafts (crafts, cooking). Astana: a home, a counsellor, young person yp-d,
    /// mentor m-astana (it).
    func seed(_ store: any Store) async throws {
        for site in ["almaty", "astana"] {
            _ = try await store.createSite(Site(id: site, name: site.capitalized, timeZone: "Asia/Almaty"), context: context()) { _ in [] }
            _ = try await store.importCounselling(
                siteID: site, homes: [Home(id: "h-\(site)", siteID: site, name: "Home")], youngPeople: [],
                counsellors: [Counsellor(id: "c-\(site)", siteID: site, availability: Self.weekdays)], context: context(), reply: { _ in [] })
        }
        for (id, site) in [("yp-a", "almaty"), ("yp-b", "almaty"), ("yp-c", "almaty"), ("yp-d", "astana")] {
            _ = try await store.createYoungPerson(
                YoungPerson(id: id, homeID: "h-\(site)", name: "Person \(id)", availability: Self.weekdays), context: context()
            ) { _ in [] }
        }
        _ = try await store.importMentors(
            siteID: "almaty", mentors: [Self.mentor("m-it", fields: ["it", "finance"]), Self.mentor("m-crafts", fields: ["crafts", "cooking"])],
            context: context(), reply: { _ in [] })
        _ = try await store.importMentors(siteID: "astana", mentors: [Self.mentor("m-astana", site: "astana", fields: ["it"])], context: context()) { _ in [] }
    }

    func expectError(_ code: SchedulerError.Code, field: String? = nil, containing text: String? = nil, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code), got success")
        } catch let error as SchedulerError {
            #expect(error.code == code, "\(error)")
            if let field { #expect(error.field == field, "\(error)") }
            if let text { #expect(error.message.contains(text), "\(error.message)") }
        } catch {
            Issue.record("expected a SchedulerError \(code), got \(String(reflecting: error))")
        }
    }

    func session(
        _ id: String, _ mentor: String, _ person: String, day: Int, start: String = "10:00", minutes: Int = 60, site: String = "almaty",
        status: MentorSessionStatus = .scheduled, sequence: Int = 0
    ) -> StoredMentorSession {
        StoredMentorSession(
            session: MentorSession(
                id: id, mentorID: mentor, youngPersonID: person, date: Self.day(day), start: TimeGrid.minutes(parsing: start)!, minutes: minutes),
            siteID: site, status: status, sequence: sequence)
    }

    static let createdAt = Date(timeIntervalSince1970: Double(1_900_000_000_123) / 1000)

    func batch(_ id: String, site: String = "almaty", digest: [UInt8] = [7, 7]) -> StoredMentorBatch {
        StoredMentorBatch(id: id, siteID: site, inputDigest: digest, answer: Array("answer of \(id)".utf8), createdAt: Self.createdAt)
    }

    func version(_ store: any Store, _ site: String = "almaty") async throws -> Int64 {
        try #require(try await store.mentoringSnapshot(siteID: site, from: Self.week, to: Self.week)).version
    }

    /// Saves `sessions` as batch `id` at the site's current version.
    @discardableResult
    func save(_ store: any Store, _ id: String, _ sessions: [StoredMentorSession], site: String = "almaty") async throws -> StoredMentorBatch {
        try NurseryFixture.applied(
            try await store.saveMentorBatch(
                batch(id, site: site), sessions: sessions, expectedVersion: try await version(store, site), context: context(), reply: { _ in [] }))
    }

    /// Every mentor session of the site, cancelled ones included.
    func allSessions(_ store: any Store, _ site: String = "almaty") async throws -> [StoredMentorSession] {
        try await store.mentorSessions(MentorSessionFilter(siteID: site, includeCancelled: true), after: nil, limit: 100_000).items
    }

    // MARK: Mentors

    @Test(arguments: StoreKind.all)
    func mentorsAreCreatedReadListedAndUpdated(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let before = try await version(store)
            let away = CivilDate(parsing: "2030-09-04")!
            let given = Mentor(
                id: "", siteID: "almaty", organisation: "Kaspi", name: "Aliya", fields: ["it", "a-b"], capacity: 4,
                availability: Availability(windows: [WeeklyWindow(parsing: "tue 16:00-19:00")!, WeeklyWindow(parsing: "mon 15:00-24:00")!], awayDates: [away]),
                sessionMinutes: 45)
            let created = try NurseryFixture.applied(try await store.createMentor(given, context: context()) { _ in [] })
            #expect(created.id.hasPrefix("mnt_") && created.id.count == 16)
            var expected = given
            expected.id = created.id
            #expect(created == expected)
            // Read back whole: organisation, fields, capacity, windows, away dates, session length.
            #expect(try await store.mentor(id: created.id) == expected)
            #expect(try await store.mentor(id: "nobody") == nil)
            #expect(try await version(store) == before + 1)

            // Listing pages by id, per site, and by field.
            let first = try await store.listMentors(siteID: "almaty", field: nil, after: nil, limit: 2)
            #expect(first.items.map(\.id) == ["m-crafts", "m-it"])
            #expect(first.next == "m-it")
            let second = try await store.listMentors(siteID: "almaty", field: nil, after: first.next, limit: 2)
            #expect(second.items.map(\.id) == [created.id])
            #expect(second.next == nil)
            #expect(try await store.listMentors(siteID: "astana", field: nil, after: nil, limit: 10).items.map(\.id) == ["m-astana"])
            #expect(try await store.listMentors(siteID: "almaty", field: "it", after: nil, limit: 10).items.map(\.id) == ["m-it", created.id])
            #expect(try await store.listMentors(siteID: "almaty", field: "it", after: "m-it", limit: 10).items.map(\.id) == [created.id])
            let paged = try await store.listMentors(siteID: "almaty", field: "it", after: nil, limit: 1)
            #expect(paged.items.map(\.id) == ["m-it"] && paged.next == "m-it")
            #expect(try await store.listMentors(siteID: "almaty", field: "cooking", after: nil, limit: 10).items.map(\.id) == ["m-crafts"])
            // A field matches whole: not a part of one, and `_` or `%` are no wildcards.
            #expect(try await store.listMentors(siteID: "almaty", field: "i", after: nil, limit: 10).items.isEmpty)
            #expect(try await store.listMentors(siteID: "almaty", field: "a_b", after: nil, limit: 10).items.isEmpty)
            #expect(try await store.listMentors(siteID: "almaty", field: "%", after: nil, limit: 10).items.isEmpty)
            #expect(try await store.listMentors(siteID: "almaty", field: "a-b", after: nil, limit: 10).items.map(\.id) == [created.id])
            #expect(try await store.listMentors(siteID: "almaty", field: "it,finance", after: nil, limit: 10).items.isEmpty)
            #expect(try await store.listMentors(siteID: "nowhere", field: nil, after: nil, limit: 10).items.isEmpty)

            // Updates keep the id and the site; the field listing follows the new fields.
            let changed = try NurseryFixture.applied(
                try await store.updateMentor(id: "m-it", context: context(), reply: { _ in [] }) {
                    $0.fields = ["crafts"]
                    $0.capacity = 0
                    $0.availability.awayDates = [away]
                    $0.siteID = "astana"
                    $0.id = "other"
                })
            #expect(changed.id == "m-it" && changed.siteID == "almaty" && changed.fields == ["crafts"] && changed.capacity == 0)
            #expect(try await store.mentor(id: "m-it") == changed)
            #expect(try await store.listMentors(siteID: "almaty", field: "crafts", after: nil, limit: 10).items.map(\.id) == ["m-crafts", "m-it"])
            #expect(try await store.listMentors(siteID: "almaty", field: "finance", after: nil, limit: 10).items.isEmpty)
            #expect(try await version(store) == before + 2)
            let audit = try await store.auditEntries(after: 0, limit: 1000)
            #expect(audit.suffix(2).map(\.records) == [["mentor:\(created.id)"], ["mentor:m-it"]])
        }
    }

    @Test(arguments: StoreKind.all)
    func mentorChangesThatBreakTheRulesAreRefusedNamingTheField(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let before = try await version(store)
            await expectError(.notFound, field: "mentor.site_id", containing: "no site with id nowhere") {
                _ = try await store.createMentor(Self.mentor("", site: "nowhere", fields: ["it"]), context: context()) { _ in [] }
            }
            await expectError(.alreadyExists, field: "mentor.id") {
                _ = try await store.createMentor(Self.mentor("m-it", fields: ["it"]), context: context()) { _ in [] }
            }
            await expectError(.alreadyExists, field: "mentor.id") {
                _ = try await store.createMentor(Self.mentor("m-astana", fields: ["it"]), context: context()) { _ in [] }
            }
            await expectError(.invalidArgument, field: "mentor.fields") {
                _ = try await store.createMentor(Self.mentor("m-new", fields: ["it,finance"]), context: context()) { _ in [] }
            }
            // What a stored mentor could not be read back as.
            await expectError(.invalidArgument, field: "mentor.capacity") {
                _ = try await store.createMentor(Self.mentor("m-new", fields: ["it"], capacity: -1), context: context()) { _ in [] }
            }
            var long = Self.mentor("m-new", fields: ["it"])
            long.sessionMinutes = 5_000
            await expectError(.invalidArgument, field: "mentor.session_minutes") {
                _ = try await store.createMentor(long, context: context()) { _ in [] }
            }
            await expectError(.invalidArgument, field: "mentor.capacity") {
                _ = try await store.updateMentor(id: "m-it", context: context(), reply: { _ in [] }) { $0.capacity = Int(Int32.max) + 1 }
            }
            await expectError(.notFound, field: "mentor.id") {
                _ = try await store.updateMentor(id: "m-none", context: context(), reply: { _ in [] }) { $0.name = "x" }
            }
            await expectError(.invalidArgument, field: "mentor.fields") {
                _ = try await store.updateMentor(id: "m-it", context: context(), reply: { _ in [] }) { $0.fields = ["a,b"] }
            }
            // A change that throws changes nothing.
            await expectError(.invalidArgument, field: "mentor.capacity") {
                _ = try await store.updateMentor(id: "m-it", context: context(), reply: { _ in [] }) {
                    $0.capacity = 9
                    throw SchedulerError(.invalidArgument, "no", field: "mentor.capacity")
                }
            }
            #expect(try await store.mentor(id: "m-it") == Self.mentor("m-it", fields: ["it", "finance"]))
            #expect(try await store.mentor(id: "m-new") == nil)
            #expect(try await store.listMentors(siteID: "almaty", field: nil, after: nil, limit: 10).items.count == 2)
            // Refusals leave the version where it was.
            #expect(try await version(store) == before)
        }
    }

    @Test(arguments: StoreKind.all)
    func aMentorImportIsAllOrNothing(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let before = try await version(store)
            var replaced = Self.mentor("m-it", site: "ignored", fields: ["finance"], capacity: 7)
            replaced.name = "Replaced"
            let counts = try NurseryFixture.applied(
                try await store.importMentors(
                    siteID: "almaty", mentors: [Self.mentor("m-new", site: "ignored", fields: ["cooking"]), replaced], context: context(), reply: { _ in [] }))
            #expect(counts == MentorImportCounts(created: 1, replaced: 1))
            #expect(try await store.mentor(id: "m-new")?.siteID == "almaty")
            replaced.siteID = "almaty"
            #expect(try await store.mentor(id: "m-it") == replaced)
            #expect(try await version(store) == before + 1)
            #expect(try await store.auditEntries(after: 0, limit: 1000).last?.records == ["mentor:m-new", "mentor:m-it"])

            // A bad mentor anywhere: nothing of the import is written, and the error names it.
            func refused(_ code: SchedulerError.Code, _ field: String, _ mentors: [Mentor]) async {
                await expectError(code, field: field) {
                    _ = try await store.importMentors(
                        siteID: "almaty", mentors: [Self.mentor("m-never", fields: ["it"]), Self.mentor("m-crafts", fields: ["never"])] + mentors,
                        context: context(), reply: { _ in [] })
                }
            }
            await refused(.failedPrecondition, "mentors[3].id", [Self.mentor("m-other", fields: ["it"]), Self.mentor("m-astana", fields: ["it"])])
            await refused(.invalidArgument, "mentors[2].id", [Self.mentor("", fields: ["it"])])
            await refused(.invalidArgument, "mentors[2].id", [Self.mentor("m-never", fields: ["it"])])
            await refused(.invalidArgument, "mentors[2].fields", [Self.mentor("m-x", fields: ["a,b"])])
            await refused(.invalidArgument, "mentors[2].capacity", [Self.mentor("m-x", fields: ["it"], capacity: -1)])
            await expectError(.notFound, field: "site_id") {
                _ = try await store.importMentors(siteID: "nowhere", mentors: [], context: context(), reply: { _ in [] })
            }
            #expect(try await store.mentor(id: "m-never") == nil)
            #expect(try await store.mentor(id: "m-other") == nil)
            #expect(try await store.mentor(id: "m-crafts")?.fields == ["crafts", "cooking"])
            #expect(try await store.mentor(id: "m-astana")?.siteID == "astana")
            #expect(try await version(store) == before + 1)

            // Hundreds in one call.
            let bulk = (0..<600).map { Self.mentor(String(format: "bulk-%03d", $0), site: "astana", fields: [$0 % 2 == 0 ? "it" : "crafts", "f\($0 % 7)"]) }
            let bulkCounts = try NurseryFixture.applied(try await store.importMentors(siteID: "astana", mentors: bulk, context: context()) { _ in [] })
            #expect(bulkCounts == MentorImportCounts(created: 600, replaced: 0))
            let snapshot = try #require(try await store.mentoringSnapshot(siteID: "astana", from: Self.week, to: Self.week))
            #expect(snapshot.mentors.count == 601)
            #expect(snapshot.mentors.first { $0.id == "bulk-013" } == bulk[13])
            #expect(try await store.listMentors(siteID: "astana", field: "crafts", after: nil, limit: 1_000).items.count == 300)
        }
    }

    @Test(arguments: StoreKind.all)
    func aRetryWithTheSameKeyGetsTheStoredReply(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let audited = try await store.auditEntries(after: 0, limit: 1000).count
            let reply: @Sendable (Mentor) throws -> [UInt8] = { Array($0.id.utf8) }
            let given = Self.mentor("", fields: ["it"])
            guard case .applied(let created, let bytes) = try await store.createMentor(given, context: context(key: "k1"), reply: reply) else {
                Issue.record("first call was not applied")
                return
            }
            guard case .replayed(let replayed) = try await store.createMentor(given, context: context(key: "k1"), reply: reply) else {
                Issue.record("retry was not replayed")
                return
            }
            #expect(replayed == bytes && bytes == Array(created.id.utf8))
            #expect(try await store.listMentors(siteID: "almaty", field: nil, after: nil, limit: 10).items.count == 3)

            // A saved batch replays too: nothing is booked twice.
            let current = try await version(store)
            let sessions = [session("", "m-it", "yp-a", day: 0), session("", "m-it", "yp-a", day: 7)]
            let batchReply: @Sendable (StoredMentorBatch) throws -> [UInt8] = { $0.answer }
            guard
                case .applied(let saved, let answer) = try await store.saveMentorBatch(
                    batch("b1"), sessions: sessions, expectedVersion: current, context: context(key: "b1"), reply: batchReply)
            else {
                Issue.record("batch was not applied")
                return
            }
            #expect(saved == batch("b1") && answer == batch("b1").answer)
            guard
                case .replayed(let again) = try await store.saveMentorBatch(
                    batch("b1"), sessions: sessions, expectedVersion: current, context: context(key: "b1"), reply: batchReply)
            else {
                Issue.record("batch retry was not replayed")
                return
            }
            #expect(again == answer)
            #expect(try await allSessions(store).count == 2)
            #expect(try await version(store) == current + 1)
            let entries = try await store.auditEntries(after: 0, limit: 1000)
            #expect(entries.count == audited + 2)
            #expect(entries.last?.records == ["mentor_batch:b1"])
        }
    }

    // MARK: Batches and the snapshot

    @Test(arguments: StoreKind.all)
    func aSavedBatchShowsInTheSnapshotWithItsPairs(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            #expect(try await store.mentoringSnapshot(siteID: "nowhere", from: Self.week, to: Self.week) == nil)
            #expect(try await store.mentorBatch(id: "b1") == nil)
            // Counsellor sessions take the young people's time too: those in the range, not cancelled.
            let counselling = [
                StoredSession(
                    session: CounsellingSession(
                        id: "cs-1", youngPersonID: "yp-a", counsellorID: "c-almaty", date: Self.day(1), start: 600, minutes: 60, homeID: "h-almaty"),
                    siteID: "almaty"),
                StoredSession(
                    session: CounsellingSession(
                        id: "cs-2", youngPersonID: "yp-b", counsellorID: "c-almaty", date: Self.day(2), start: 600, minutes: 60, homeID: "h-almaty",
                        status: .cancelled), siteID: "almaty"),
                StoredSession(
                    session: CounsellingSession(
                        id: "cs-3", youngPersonID: "yp-b", counsellorID: "c-almaty", date: Self.day(9), start: 600, minutes: 60, homeID: "h-almaty"),
                    siteID: "almaty"),
            ]
            _ = try await store.writeCounselling(
                siteID: "almaty", expectedVersion: try await version(store), CounsellingWrite(sessions: counselling), context: context(), reply: { _ in [] })
            let before = try await version(store)
            let sessions = [
                session("", "m-it", "yp-a", day: 0, start: "11:00"),
                session("", "m-it", "yp-a", day: 7, start: "11:00"),
                session("", "m-it", "yp-a", day: 14, start: "11:00"),
                session("s-b1", "m-crafts", "yp-b", day: 2, start: "14:00"),
                session("s-b0", "m-crafts", "yp-b", day: 2, start: "13:00"),
                session("s-c", "m-it", "yp-c", day: -7),
            ]
            let saved = try NurseryFixture.applied(
                try await store.saveMentorBatch(batch("b1"), sessions: sessions, expectedVersion: before, context: context(), reply: { _ in [] }))
            #expect(saved == batch("b1"))
            #expect(try await store.mentorBatch(id: "b1") == batch("b1"))
            let astana = try await save(store, "b-astana", [session("s-d", "m-astana", "yp-d", day: 0, site: "astana")], site: "astana")
            #expect(astana.siteID == "astana")

            let snapshot = try #require(try await store.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
            #expect(snapshot.site.id == "almaty" && snapshot.site.timeZone == "Asia/Almaty")
            #expect(snapshot.version == before + 1)
            #expect(snapshot.mentors.map(\.id) == ["m-crafts", "m-it"])
            #expect(snapshot.mentors.last == Self.mentor("m-it", fields: ["it", "finance"]))
            #expect(snapshot.youngPeople.map(\.id) == ["yp-a", "yp-b", "yp-c"])
            #expect(snapshot.counsellingSessions == [counselling[0].session])
            // Sessions of the range by date, start and id, with the ids the store made and the batch's id.
            #expect(snapshot.mentorSessions.map(\.id).suffix(2) == ["s-b0", "s-b1"])
            #expect(snapshot.mentorSessions.count == 3)
            let made = try #require(snapshot.mentorSessions.first)
            #expect(made.id.hasPrefix("mses_") && made.session.date == Self.day(0) && made.session.youngPersonID == "yp-a")
            #expect(snapshot.mentorSessions.allSatisfy { $0.session.batchID == "b1" && $0.status == .scheduled && $0.siteID == "almaty" })
            var expectedB0 = sessions[4]
            expectedB0.session.batchID = "b1"
            #expect(snapshot.mentorSessions[1] == expectedB0)
            #expect(try await store.mentorSession(id: "s-b0") == expectedB0)
            #expect(try await store.mentorSession(id: "none") == nil)
            // Pairs are over all dates, with the latest session.
            #expect(
                snapshot.pairs == [
                    MentorPair(mentorID: "m-crafts", youngPersonID: "yp-b", lastDate: Self.day(2)),
                    MentorPair(mentorID: "m-it", youngPersonID: "yp-a", lastDate: Self.day(14)),
                    MentorPair(mentorID: "m-it", youngPersonID: "yp-c", lastDate: Self.day(-7)),
                ])
            #expect(try await store.auditEntries(after: 0, limit: 1000).suffix(2).map(\.records) == [["mentor_batch:b1"], ["mentor_batch:b-astana"]])

            // Cancelled sessions leave the snapshot, and a pair with no other session goes.
            var cancelled = try #require(try await store.mentorSession(id: "s-c"))
            cancelled.status = .cancelled
            cancelled.sequence = 1
            var cancelledB0 = expectedB0
            cancelledB0.status = .cancelled
            cancelledB0.sequence = 1
            let written = try NurseryFixture.applied(
                try await store.writeMentorSessions(
                    siteID: "almaty", [cancelled, cancelledB0], records: ["mentor_batch:b1"], context: context(), reply: { _ in [] }))
            #expect(written == [cancelled, cancelledB0])
            let after = try #require(try await store.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
            #expect(after.version == snapshot.version + 1)
            #expect(after.mentorSessions.map(\.id) == [made.id, "s-b1"])
            #expect(after.pairs.map(\.youngPersonID) == ["yp-b", "yp-a"])
            let astanaSnapshot = try #require(try await store.mentoringSnapshot(siteID: "astana", from: Self.week, to: Self.day(6)))
            #expect(astanaSnapshot.mentorSessions.map(\.id) == ["s-d"])
            #expect(astanaSnapshot.pairs == [MentorPair(mentorID: "m-astana", youngPersonID: "yp-d", lastDate: Self.day(0))])
            #expect(astanaSnapshot.mentors.map(\.id) == ["m-astana"])
        }
    }

    @Test(arguments: StoreKind.all)
    func theSameBatchIdAgainIsAlreadyExistsAndWritesNothing(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            try await save(store, "b1", [session("s1", "m-it", "yp-a", day: 0), session("s2", "m-crafts", "yp-b", day: 0)])
            let current = try await version(store)
            let audited = try await store.auditEntries(after: 0, limit: 1000).count
            for (site, expected) in [("almaty", current), ("almaty", current - 1), ("astana", try await version(store, "astana"))] {
                await expectError(.alreadyExists, field: "batch_id") {
                    _ = try await store.saveMentorBatch(
                        batch("b1", site: site, digest: [9]),
                        sessions: [session("s3", site == "astana" ? "m-astana" : "m-it", site == "astana" ? "yp-d" : "yp-c", day: 1, site: site)],
                        expectedVersion: expected, context: context(), reply: { _ in [] })
                }
            }
            #expect(try await store.mentorBatch(id: "b1") == batch("b1"))
            #expect(try await allSessions(store).map(\.id) == ["s1", "s2"])
            #expect(try await allSessions(store, "astana").isEmpty)
            #expect(try await version(store) == current)
            #expect(try await store.auditEntries(after: 0, limit: 1000).count == audited)
        }
    }

    @Test(arguments: StoreKind.all)
    func aBatchFromAnOlderVersionIsAbortedAndWritesNothing(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let snapshot = try #require(try await store.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
            let sessions = [session("s1", "m-it", "yp-a", day: 0), session("s2", "m-crafts", "yp-b", day: 0)]
            // Any change of the site's counselling or mentoring records moves the version.
            let changes: [(String, @Sendable () async throws -> Void)] = [
                ("young person", { _ = try await store.updateYoungPerson(id: "yp-c", context: self.context(), reply: { _ in [] }) { $0.sessionsPerWeek = 3 } }),
                ("mentor", { _ = try await store.updateMentor(id: "m-it", context: self.context(), reply: { _ in [] }) { $0.capacity = 1 } }),
                (
                    "mentor batch",
                    {
                        _ = try await store.saveMentorBatch(
                            self.batch("b0"), sessions: [], expectedVersion: try await self.version(store), context: self.context(), reply: { _ in [] })
                    }
                ),
            ]
            var decided = snapshot.version
            for (what, change) in changes {
                try await change()
                let now = try await version(store)
                #expect(now == decided + 1, "\(what)")
                await expectError(.aborted, containing: "changed while this batch was decided") {
                    _ = try await store.saveMentorBatch(batch("b1"), sessions: sessions, expectedVersion: decided, context: context(), reply: { _ in [] })
                }
                #expect(try await store.mentorBatch(id: "b1") == nil)
                #expect(try await allSessions(store).isEmpty)
                #expect(try await version(store) == now)
                decided = now
            }
            // A batch of the records as they are now is saved.
            try await save(store, "b1", sessions)
            #expect(try await allSessions(store).map(\.id) == ["s1", "s2"])
        }
    }

    @Test(arguments: StoreKind.all)
    func aBatchWithABadSessionIsRefusedNamingItAndWritesNothing(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            try await save(store, "b0", [session("s-old", "m-it", "yp-a", day: -7)])
            let current = try await version(store)
            let good = session("", "m-it", "yp-a", day: 0)
            func refused(_ code: SchedulerError.Code, _ field: String, _ sessions: [StoredMentorSession], batchID: String = "b1") async {
                await expectError(code, field: field) {
                    _ = try await store.saveMentorBatch(
                        batch(batchID), sessions: [good, good] + sessions, expectedVersion: current, context: context(), reply: { _ in [] })
                }
            }
            await refused(.failedPrecondition, "sessions[3].young_person_id", [session("", "m-it", "yp-b", day: 1), session("", "m-it", "yp-d", day: 1)])
            await refused(.failedPrecondition, "sessions[2].mentor_id", [session("", "m-astana", "yp-b", day: 1)])
            await refused(.notFound, "sessions[2].mentor_id", [session("", "m-none", "yp-b", day: 1)])
            await refused(.notFound, "sessions[2].young_person_id", [session("", "m-it", "yp-none", day: 1)])
            await refused(.failedPrecondition, "sessions[2].site_id", [session("", "m-astana", "yp-d", day: 1, site: "astana")])
            await refused(.invalidArgument, "sessions[2]", [session("", "m-it", "yp-b", day: 1, minutes: 2_000)])
            var otherBatch = session("", "m-it", "yp-b", day: 1)
            otherBatch.session.batchID = "b9"
            await refused(.invalidArgument, "sessions[2].batch_id", [otherBatch])
            // An id stored already, or given twice.
            await refused(.alreadyExists, "sessions[3].id", [session("s-new", "m-it", "yp-b", day: 1), session("s-old", "m-it", "yp-b", day: 1)])
            await refused(
                .alreadyExists, "sessions[4].id",
                [session("s-x", "m-it", "yp-b", day: 1), session("s-y", "m-it", "yp-b", day: 1), session("s-x", "m-it", "yp-c", day: 1)])
            await refused(.invalidArgument, "batch_id", [], batchID: "")
            await expectError(.notFound, field: "site_id") {
                _ = try await store.saveMentorBatch(batch("b1", site: "nowhere"), sessions: [], expectedVersion: 0, context: context(), reply: { _ in [] })
            }
            #expect(try await store.mentorBatch(id: "b1") == nil)
            #expect(try await allSessions(store).map(\.id) == ["s-old"])
            #expect(try await version(store) == current)
        }
    }

    /// A failure of the database itself part way through the inserts (a real trigger that refuses
    /// them once the table holds some rows) rolls the whole batch back: no batch row, no session,
    /// no audit entry, the version where it was. Without the trigger the same save succeeds.
    @Test(arguments: StoreKind.all)
    func aStoreFailureInTheMiddleOfSavingLeavesNothingSaved(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            // 20 sessions, failing at the 6th; then 2,500, failing at the 1,501st (on PostgreSQL in
            // the second statement of the batch, after the first 1,000 went in).
            for (count, failAt) in [(20, 5), (2_500, 1_500)] {
                let sessions = (0..<count).map { index in
                    session("s-\(count)-\(index)", index % 2 == 0 ? "m-it" : "m-crafts", ["yp-a", "yp-b", "yp-c"][index % 3], day: index / 3 * 7)
                }
                let before = try await version(store)
                let audited = try await store.auditEntries(after: 0, limit: 100_000).count
                let stored = try await allSessions(store).count
                let failure = try await InsertFailure.install(on: store, table: "mentor_session", whenRowsReach: stored + failAt)
                do {
                    _ = try await store.saveMentorBatch(
                        batch("b-\(count)"), sessions: sessions, expectedVersion: before, context: context(key: "k-\(count)"), reply: { _ in [] })
                    Issue.record("a save through the failing trigger succeeded")
                } catch {
                    // Whatever the store calls it, it is an error, and nothing of the batch is left.
                }
                #expect(try await store.mentorBatch(id: "b-\(count)") == nil)
                #expect(try await allSessions(store).count == stored)
                #expect(try await version(store) == before)
                #expect(try await store.auditEntries(after: 0, limit: 100_000).count == audited)
                #expect(try await store.storedReply(for: context(key: "k-\(count)")) == nil)
                try await failure.remove()

                _ = try NurseryFixture.applied(
                    try await store.saveMentorBatch(
                        batch("b-\(count)"), sessions: sessions, expectedVersion: before, context: context(key: "k-\(count)"), reply: { _ in [] }))
                #expect(try await store.mentorBatch(id: "b-\(count)") != nil)
                #expect(try await allSessions(store).count == stored + count)
                #expect(try await version(store) == before + 1)
            }
        }
    }

    @Test(arguments: StoreKind.all)
    func ofSaversFromOneSnapshotExactlyOneWins(kind: StoreKind) async throws {
        try await kind.withStore { store, directory in
            try await seed(store)
            // A second store on the same data: another server process (on SQLite, the same file).
            try await kind.withOpened(directory) { other in
                let snapshot = try #require(try await store.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
                let savers = 8
                let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                    for index in 0..<savers {
                        let target = index % 2 == 0 ? store : other
                        group.addTask {
                            let sessions = [self.session("s-\(index)", "m-it", "yp-a", day: 0), self.session("t-\(index)", "m-crafts", "yp-b", day: 2)]
                            do {
                                _ = try await target.saveMentorBatch(
                                    self.batch("b-\(index)"), sessions: sessions, expectedVersion: snapshot.version, context: self.context(),
                                    reply: { _ in [] })
                                return (index, true)
                            } catch let error as SchedulerError where error.code == .aborted {
                                return (index, false)
                            }
                        }
                    }
                    return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
                }
                let winners = outcomes.filter(\.1).map(\.0)
                #expect(winners.count == 1)
                let winner = try #require(winners.first)
                let after = try #require(try await other.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
                #expect(after.version == snapshot.version + 1)
                #expect(Set(after.mentorSessions.map(\.id)) == ["s-\(winner)", "t-\(winner)"])
                for index in 0..<savers where index != winner { #expect(try await store.mentorBatch(id: "b-\(index)") == nil) }
            }
        }
    }

    // MARK: Sessions

    @Test(arguments: StoreKind.all)
    func cancellationsReplaceSessionsAndMoveTheVersion(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            try await save(store, "b1", [session("s1", "m-it", "yp-a", day: 0), session("s2", "m-it", "yp-a", day: 7)])
            try await save(store, "b-astana", [session("s-d", "m-astana", "yp-d", day: 0, site: "astana")], site: "astana")
            let before = try await version(store)
            var one = try #require(try await store.mentorSession(id: "s1"))
            one.status = .cancelled
            one.sequence = 1
            // The last of one id counts.
            var earlier = one
            earlier.sequence = 5
            let reply: @Sendable ([StoredMentorSession]) throws -> [UInt8] = { Array($0.map(\.id).joined(separator: ",").utf8) }
            guard
                case .applied(let written, let bytes) = try await store.writeMentorSessions(
                    siteID: "almaty", [earlier, one], records: ["mentor_batch:b1"], context: context(key: "c1"), reply: reply)
            else {
                Issue.record("not applied")
                return
            }
            #expect(written == [one] && bytes == Array("s1".utf8))
            #expect(try await store.mentorSession(id: "s1") == one)
            #expect(try await version(store) == before + 1)
            #expect(try await store.auditEntries(after: 0, limit: 1000).last?.records == ["mentor_session:s1", "mentor_batch:b1"])
            // A retry replays.
            guard
                case .replayed(let again) = try await store.writeMentorSessions(
                    siteID: "almaty", [earlier, one], records: ["mentor_batch:b1"], context: context(key: "c1"), reply: reply)
            else {
                Issue.record("not replayed")
                return
            }
            #expect(again == bytes)
            #expect(try await version(store) == before + 1)

            // Refusals name the session and write nothing.
            let stored = try #require(try await store.mentorSession(id: "s2"))
            var cancel = stored
            cancel.status = .cancelled
            cancel.sequence = 1
            let astana = try #require(try await store.mentorSession(id: "s-d"))
            var moved = cancel
            moved.session.mentorID = "m-crafts"
            var missing = cancel
            missing.session.id = "s-none"
            var elsewhere = astana
            elsewhere.siteID = "almaty"
            for (sessions, code, field) in [
                ([cancel, missing], SchedulerError.Code.notFound, "sessions[1].id"),
                ([cancel, astana], .failedPrecondition, "sessions[1].site_id"),
                ([cancel, elsewhere], .failedPrecondition, "sessions[1].id"),
                ([moved], .failedPrecondition, "sessions[0]"),
            ] {
                await expectError(code, field: field) {
                    _ = try await store.writeMentorSessions(siteID: "almaty", sessions, records: [], context: context(), reply: { _ in [] })
                }
            }
            await expectError(.notFound, field: "site_id") {
                _ = try await store.writeMentorSessions(siteID: "nowhere", [], records: [], context: context(), reply: { _ in [] })
            }
            #expect(try await store.mentorSession(id: "s2") == stored)
            #expect(try await store.mentorSession(id: "s-d") == astana)
            #expect(try await version(store) == before + 1)
        }
    }

    @Test(arguments: StoreKind.all)
    func mentorSessionsAreFilteredAndPaged(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            try await save(
                store, "b1",
                [
                    session("a1", "m-it", "yp-a", day: 0, start: "14:00"),
                    session("a0", "m-it", "yp-a", day: 0, start: "14:00"),
                    session("a2", "m-it", "yp-a", day: 7, start: "09:00"),
                    session("b1", "m-crafts", "yp-b", day: 0, start: "09:00"),
                    session("b2", "m-crafts", "yp-b", day: 7, start: "09:00"),
                    session("c1", "m-it", "yp-c", day: 3),
                ])
            try await save(
                store, "b2",
                [
                    session("c2", "m-it", "yp-c", day: 10),
                    session("b3", "m-crafts", "yp-b", day: 14, start: "09:00"),
                    session("z1", "m-crafts", "yp-a", day: -7),
                ])
            try await save(store, "b-astana", [session("d1", "m-astana", "yp-d", day: 0, site: "astana")], site: "astana")
            var cancelled = try #require(try await store.mentorSession(id: "a2"))
            cancelled.status = .cancelled
            cancelled.sequence = 1
            _ = try await store.writeMentorSessions(siteID: "almaty", [cancelled], records: [], context: context(), reply: { _ in [] })

            func ids(
                mentor: String? = nil, person: String? = nil, batch: String? = nil, from: Int? = nil, to: Int? = nil, cancelled: Bool = false,
                site: String = "almaty"
            ) async throws -> [String] {
                let filter = MentorSessionFilter(
                    siteID: site, mentorID: mentor, youngPersonID: person, batchID: batch, from: from.map(Self.day), to: to.map(Self.day),
                    includeCancelled: cancelled)
                return try await store.mentorSessions(filter, after: nil, limit: 1_000).items.map(\.id)
            }
            #expect(try await ids() == ["z1", "b1", "a0", "a1", "c1", "b2", "c2", "b3"])
            #expect(try await ids(cancelled: true) == ["z1", "b1", "a0", "a1", "c1", "a2", "b2", "c2", "b3"])
            #expect(try await ids(mentor: "m-it") == ["a0", "a1", "c1", "c2"])
            #expect(try await ids(mentor: "m-it", cancelled: true) == ["a0", "a1", "c1", "a2", "c2"])
            #expect(try await ids(person: "yp-a", cancelled: true) == ["z1", "a0", "a1", "a2"])
            #expect(try await ids(mentor: "m-crafts", person: "yp-b") == ["b1", "b2", "b3"])
            #expect(try await ids(batch: "b2") == ["z1", "c2", "b3"])
            #expect(try await ids(batch: "b1", from: 1, to: 7, cancelled: true) == ["c1", "a2", "b2"])
            #expect(try await ids(from: 7) == ["b2", "c2", "b3"])
            #expect(try await ids(to: 0) == ["z1", "b1", "a0", "a1"])
            #expect(try await ids(from: 1, to: 2) == [])
            #expect(try await ids(mentor: "m-none") == [])
            #expect(try await ids(mentor: "m-astana") == [])
            #expect(try await ids(site: "astana") == ["d1"])
            #expect(try await ids(site: "nowhere") == [])

            // Pages of every size give the same sessions, in order, and end with no cursor.
            let filter = MentorSessionFilter(siteID: "almaty", includeCancelled: true)
            let all = try await store.mentorSessions(filter, after: nil, limit: 1_000).items
            #expect(all.count == 9)
            for size in 1...4 {
                var seen: [StoredMentorSession] = []
                var cursor: String?
                var pages = 0
                repeat {
                    let page = try await store.mentorSessions(filter, after: cursor, limit: size)
                    #expect(page.items.count <= size)
                    seen += page.items
                    cursor = page.next
                    pages += 1
                } while cursor != nil && pages < 20
                #expect(seen == all, "page size \(size)")
                #expect(pages == (all.count + size - 1) / size, "page size \(size)")
            }
            let narrowed = try await store.mentorSessions(MentorSessionFilter(siteID: "almaty", mentorID: "m-it"), after: nil, limit: 2)
            #expect(narrowed.items.map(\.id) == ["a0", "a1"])
            let rest = try await store.mentorSessions(MentorSessionFilter(siteID: "almaty", mentorID: "m-it"), after: narrowed.next, limit: 2)
            #expect(rest.items.map(\.id) == ["c1", "c2"] && rest.next == nil)
            #expect(try await store.mentorSessions(filter, after: nil, limit: 0).items.isEmpty)

            for token in ["garbage", "1:2", "x:600:a1", "1:y:a1", "", "99999999999:0:a"] {
                await expectError(.invalidArgument, field: "page_token") { _ = try await store.mentorSessions(filter, after: token, limit: 2) }
            }
        }
    }

    /// A mentor or session row changed by hand into what the store cannot read is DATA_LOSS
    /// naming the column, never a trap or a wrong answer; rows that are fine still read.
    @Test(arguments: StoreKind.all)
    func storedValuesThatCannotBeReadAreDataLossNamingTheColumn(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            try await save(store, "b1", [session("s1", "m-it", "yp-a", day: 0), session("s2", "m-it", "yp-b", day: 0), session("s3", "m-it", "yp-c", day: 0)])
            try await StoreDatabase.execute(
                [
                    "UPDATE mentor_session SET day = 9000000000000000000 WHERE id = 's1'",
                    "UPDATE mentor_session SET status = 'lost' WHERE id = 's2'",
                    #"UPDATE mentor SET data = '{"capacity": 3}' WHERE id = 'm-crafts'"#,
                ], on: store)
            await expectError(.dataLoss, containing: "mentor_session.day") { _ = try await store.mentorSession(id: "s1") }
            await expectError(.dataLoss, containing: "mentor_session.status") { _ = try await store.mentorSession(id: "s2") }
            await expectError(.dataLoss, containing: "mentor.data") { _ = try await store.mentor(id: "m-crafts") }
            await expectError(.dataLoss, containing: "mentor.data") {
                _ = try await store.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.week)
            }
            #expect(try await store.mentor(id: "m-it") == Self.mentor("m-it", fields: ["it", "finance"]))
            #expect(try await store.mentorSession(id: "s3")?.session.youngPersonID == "yp-c")
        }
    }

    // MARK: Transfer

    @Test func aTransferBetweenStoresCarriesTheMentoringRecords() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteStore(directory: directory.appendingPathComponent("sqlite"))
        try await seed(sqlite)
        try await save(
            sqlite, "b1", [session("s1", "m-it", "yp-a", day: -7), session("s2", "m-it", "yp-a", day: 0), session("s3", "m-crafts", "yp-b", day: 1)])
        var cancelled = try #require(try await sqlite.mentorSession(id: "s3"))
        cancelled.status = .cancelled
        cancelled.sequence = 1
        _ = try await sqlite.writeMentorSessions(siteID: "almaty", [cancelled], records: [], context: context(), reply: { _ in [] })
        let exported = RowCollector()
        try await sqlite.exportRows { exported.append($0) }
        let tables = Set(exported.rows.map(\.table))
        #expect(tables.isSuperset(of: ["mentor", "mentor_batch", "mentor_session"]))
        #expect(exported.rows.filter { $0.table == "mentor" }.count == 3)
        #expect(exported.rows.filter { $0.table == "mentor_session" }.count == 3)
        let before = try #require(try await sqlite.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
        // Through the dump's text form too, as `export` and `import` carry it.
        let lines = try exported.rows.map(StoreDump.line)
        let parsed = try lines.enumerated().map { try StoreDump.row(fromLine: $1, number: $0 + 2) }
        #expect(parsed == exported.rows)
        try await TestPostgres.withStore(for: directory) { postgres in
            try await postgres.importRows(parsed)
            let imported = RowCollector()
            try await postgres.exportRows { imported.append($0) }
            #expect(imported.rows == exported.rows)
            let after = try #require(try await postgres.mentoringSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
            #expect(after.version == before.version)
            #expect(after.mentors == before.mentors)
            #expect(after.youngPeople == before.youngPeople)
            #expect(after.mentorSessions == before.mentorSessions)
            #expect(after.pairs == before.pairs)
            #expect(try await postgres.mentorBatch(id: "b1") == batch("b1"))
            #expect(try await postgres.mentorSession(id: "s3") == cancelled)
            // The copy goes on working: a batch decided from it is saved.
            _ = try await postgres.saveMentorBatch(
                batch("b2"), sessions: [session("s4", "m-it", "yp-c", day: 2)], expectedVersion: after.version, context: context(), reply: { _ in [] })
            #expect(try await postgres.mentorSessions(MentorSessionFilter(siteID: "almaty", batchID: "b2"), after: nil, limit: 10).items.map(\.id) == ["s4"])
        }
        try await sqlite.close()
    }
}
