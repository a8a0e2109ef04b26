import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// Counsellor-session records, imports, snapshots and versioned writes; every test runs once
/// per `StoreKind`.
struct CounsellingStoreTests {
    func context(key: String? = nil, digest: [UInt8] = [1], method: String = "/test/Counselling") -> MutationContext {
        MutationContext(actor: "tok_test", method: method, idempotencyKey: key, requestDigest: digest)
    }

    static let week = CivilDate(parsing: "2030-09-02")!

    static func day(_ offset: Int) -> CivilDate { week.adding(days: offset) }

    static let weekdays = Availability(windows: [WeeklyWindow(parsing: "mon 09:00-17:00")!, WeeklyWindow(parsing: "wed 13:00-18:30")!])

    /// Two sites, Almaty with two homes, two counsellors and three young people, Astana with one
    /// home, one counsellor and one young person.
    func seed(_ store: any Store) async throws {
        for site in ["almaty", "astana"] {
            _ = try await store.createSite(Site(id: site, name: site.capitalized, timeZone: "Asia/Almaty"), context: context()) { _ in [] }
        }
        for (id, site) in [("h-almaty-1", "almaty"), ("h-almaty-2", "almaty"), ("h-astana-1", "astana")] {
            _ = try await store.createHome(Home(id: id, siteID: site, name: "Home \(id)"), context: context()) { _ in [] }
        }
        for (id, site) in [("c-almaty-1", "almaty"), ("c-almaty-2", "almaty"), ("c-astana-1", "astana")] {
            _ = try await store.createCounsellor(
                Counsellor(id: id, siteID: site, name: "Counsellor \(id)", availability: Self.weekdays, qualifications: ["trauma"]), context: context()
            ) { _ in [] }
        }
        for (id, home) in [("yp-a", "h-almaty-1"), ("yp-b", "h-almaty-1"), ("yp-c", "h-almaty-2"), ("yp-d", "h-astana-1")] {
            _ = try await store.createYoungPerson(
                YoungPerson(id: id, homeID: home, name: "Person \(id)", availability: Self.weekdays, sessionsPerWeek: 2), context: context()
            ) { _ in [] }
        }
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
        _ id: String, _ person: String, _ counsellor: String, day: Int, start: String = "09:00", home: String = "h-almaty-1",
        status: SessionStatus = .scheduled,
        site: String = "almaty", sequence: Int = 0
    ) -> StoredSession {
        StoredSession(
            session: CounsellingSession(
                id: id, youngPersonID: person, counsellorID: counsellor, date: Self.day(day), start: TimeGrid.minutes(parsing: start)!, minutes: 60,
                homeID: home, status: status),
            siteID: site, sequence: sequence)
    }

    func version(_ store: any Store, _ site: String = "almaty") async throws -> Int64 {
        try #require(try await store.counsellingSnapshot(siteID: site, from: Self.week, to: Self.week)).version
    }

    // MARK: Records

    @Test(arguments: StoreKind.all)
    func recordsAreCreatedReadListedAndUpdated(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            // Empty ids: the store makes them.
            let home = try NurseryFixture.applied(try await store.createHome(Home(id: "", siteID: "almaty", name: "New"), context: context()) { _ in [] })
            #expect(home.id.hasPrefix("hom_") && home.id.count == 16)
            #expect(try await store.home(id: home.id) == home)
            let counsellor = try NurseryFixture.applied(
                try await store.createCounsellor(Counsellor(id: "", siteID: "almaty", availability: Availability()), context: context()) { _ in [] })
            #expect(counsellor.id.hasPrefix("cns_"))
            let away = CivilDate(parsing: "2030-09-04")!
            let person = YoungPerson(
                id: "", homeID: home.id, name: "Aigerim", birthDate: CivilDate(parsing: "2008-05-01")!,
                availability: Availability(windows: [WeeklyWindow(parsing: "tue 16:00-19:00")!, WeeklyWindow(parsing: "mon 15:00-24:00")!], awayDates: [away]),
                sessionsPerWeek: 3, minutesPerSession: 45, preferredCounsellorID: counsellor.id, requiredQualifications: ["trauma", "addiction"])
            let created = try NurseryFixture.applied(try await store.createYoungPerson(person, context: context()) { _ in [] })
            #expect(created.id.hasPrefix("yp_"))
            var expected = person
            expected.id = created.id
            #expect(created == expected)
            // Read back whole: availability, away dates, qualifications, preferred counsellor.
            #expect(try await store.youngPerson(id: created.id) == expected)
            #expect(try await store.youngPersonSite(id: created.id) == "almaty")
            #expect(try await store.youngPersonSite(id: "yp-d") == "astana")
            #expect(try await store.youngPersonSite(id: "nobody") == nil)
            #expect(try await store.youngPerson(id: "nobody") == nil)

            // Listing pages by id, per site (and home).
            let first = try await store.listHomes(siteID: "almaty", after: nil, limit: 2)
            #expect(first.items.map(\.id) == ["h-almaty-1", "h-almaty-2"])
            #expect(first.next == "h-almaty-2")
            let second = try await store.listHomes(siteID: "almaty", after: first.next, limit: 2)
            #expect(second.items.map(\.id) == [home.id])
            #expect(second.next == nil)
            #expect(try await store.listHomes(siteID: "astana", after: nil, limit: 10).items.map(\.id) == ["h-astana-1"])
            #expect(try await store.listCounsellors(siteID: "almaty", after: nil, limit: 10).items.map(\.id) == ["c-almaty-1", "c-almaty-2", counsellor.id])
            #expect(try await store.listCounsellors(siteID: "almaty", after: "c-almaty-1", limit: 1).items.map(\.id) == ["c-almaty-2"])
            #expect(
                try await store.listYoungPeople(siteID: "almaty", homeID: nil, after: nil, limit: 10).items.map(\.id) == ["yp-a", "yp-b", "yp-c", created.id])
            #expect(try await store.listYoungPeople(siteID: nil, homeID: "h-almaty-1", after: nil, limit: 10).items.map(\.id) == ["yp-a", "yp-b"])
            let people = try await store.listYoungPeople(siteID: nil, homeID: nil, after: "yp-a", limit: 2)
            #expect(people.items.map(\.id) == ["yp-b", "yp-c"])
            #expect(people.next == "yp-c")

            // Updates keep the id and the site.
            let renamed = try NurseryFixture.applied(
                try await store.updateHome(id: "h-almaty-2", context: context(), reply: { _ in [] }) {
                    $0.name = "Renamed"
                    $0.siteID = "astana"
                    $0.id = "other"
                })
            #expect(renamed == Home(id: "h-almaty-2", siteID: "almaty", name: "Renamed"))
            #expect(try await store.home(id: "h-almaty-2") == renamed)
            let moved = try NurseryFixture.applied(
                try await store.updateYoungPerson(id: "yp-a", context: context(), reply: { _ in [] }) {
                    $0.homeID = "h-almaty-2"
                    $0.preferredCounsellorID = "c-almaty-2"
                    $0.sessionsPerWeek = 1
                })
            #expect(moved.homeID == "h-almaty-2" && moved.preferredCounsellorID == "c-almaty-2" && moved.sessionsPerWeek == 1)
            #expect(try await store.youngPerson(id: "yp-a") == moved)
            #expect(try await store.listYoungPeople(siteID: nil, homeID: "h-almaty-2", after: nil, limit: 10).items.map(\.id) == ["yp-a", "yp-c"])
            let changed = try NurseryFixture.applied(
                try await store.updateCounsellor(id: "c-almaty-1", context: context(), reply: { _ in [] }) {
                    $0.availability.awayDates = [away]
                    $0.maxSessionsPerWeek = 5
                    $0.siteID = "astana"
                })
            #expect(changed.siteID == "almaty" && changed.maxSessionsPerWeek == 5 && changed.availability.awayDates == [away])
            #expect(try await store.counsellor(id: "c-almaty-1") == changed)
            #expect(try await store.counsellor(id: "c-almaty-1")?.qualifications == ["trauma"])
        }
    }

    @Test(arguments: StoreKind.all)
    func changesThatBreakTheRulesAreRefusedNamingTheField(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let before = try await version(store)
            await expectError(.notFound, field: "home.site_id", containing: "no site with id nowhere") {
                _ = try await store.createHome(Home(id: "", siteID: "nowhere", name: "x"), context: context()) { _ in [] }
            }
            await expectError(.alreadyExists, field: "home.id") {
                _ = try await store.createHome(Home(id: "h-almaty-1", siteID: "almaty", name: "again"), context: context()) { _ in [] }
            }
            await expectError(.alreadyExists, field: "home.id") {
                _ = try await store.createHome(Home(id: "h-astana-1", siteID: "almaty", name: "taken at another site"), context: context()) { _ in [] }
            }
            await expectError(.notFound, field: "counsellor.site_id") {
                _ = try await store.createCounsellor(Counsellor(id: "", siteID: "nowhere", availability: Availability()), context: context()) { _ in [] }
            }
            await expectError(.alreadyExists, field: "counsellor.id") {
                _ = try await store.createCounsellor(Counsellor(id: "c-astana-1", siteID: "almaty", availability: Availability()), context: context()) { _ in []
                }
            }
            await expectError(.notFound, field: "young_person.home_id", containing: "no home with id h-none") {
                _ = try await store.createYoungPerson(YoungPerson(id: "", homeID: "h-none", availability: Availability()), context: context()) { _ in [] }
            }
            await expectError(.failedPrecondition, field: "young_person.preferred_counsellor_id") {
                _ = try await store.createYoungPerson(
                    YoungPerson(id: "", homeID: "h-almaty-1", availability: Availability(), preferredCounsellorID: "c-astana-1"), context: context()
                ) { _ in [] }
            }
            await expectError(.notFound, field: "young_person.preferred_counsellor_id") {
                _ = try await store.createYoungPerson(
                    YoungPerson(id: "", homeID: "h-almaty-1", availability: Availability(), preferredCounsellorID: "c-none"), context: context()
                ) { _ in [] }
            }
            await expectError(.alreadyExists, field: "young_person.id") {
                _ = try await store.createYoungPerson(YoungPerson(id: "yp-d", homeID: "h-almaty-1", availability: Availability()), context: context()) { _ in []
                }
            }
            // An id taken by a record of another kind is fine.
            let same = try NurseryFixture.applied(
                try await store.createCounsellor(Counsellor(id: "h-almaty-1", siteID: "almaty", availability: Availability()), context: context()) { _ in [] })
            #expect(same.id == "h-almaty-1")
            let afterCounsellor = try await version(store)
            #expect(afterCounsellor == before + 1)

            // Updates: a move to another site's home, a preferred counsellor of another site, a missing record.
            await expectError(.failedPrecondition, field: "young_person.home_id") {
                _ = try await store.updateYoungPerson(id: "yp-a", context: context(), reply: { _ in [] }) { $0.homeID = "h-astana-1" }
            }
            await expectError(.notFound, field: "young_person.home_id") {
                _ = try await store.updateYoungPerson(id: "yp-a", context: context(), reply: { _ in [] }) { $0.homeID = "h-none" }
            }
            await expectError(.failedPrecondition, field: "young_person.preferred_counsellor_id") {
                _ = try await store.updateYoungPerson(id: "yp-a", context: context(), reply: { _ in [] }) { $0.preferredCounsellorID = "c-astana-1" }
            }
            await expectError(.notFound, field: "young_person.id") {
                _ = try await store.updateYoungPerson(id: "yp-none", context: context(), reply: { _ in [] }) { $0.name = "x" }
            }
            await expectError(.notFound, field: "home.id") {
                _ = try await store.updateHome(id: "h-none", context: context(), reply: { _ in [] }) { $0.name = "x" }
            }
            await expectError(.notFound, field: "counsellor.id") {
                _ = try await store.updateCounsellor(id: "c-none", context: context(), reply: { _ in [] }) { $0.name = "x" }
            }
            // A change that throws changes nothing.
            await expectError(.invalidArgument, field: "young_person.name") {
                _ = try await store.updateYoungPerson(id: "yp-a", context: context(), reply: { _ in [] }) {
                    $0.name = "changed"
                    throw SchedulerError(.invalidArgument, "no", field: "young_person.name")
                }
            }
            #expect(try await store.youngPerson(id: "yp-a")?.homeID == "h-almaty-1")
            #expect(try await store.youngPerson(id: "yp-a")?.preferredCounsellorID == nil)
            #expect(try await store.youngPerson(id: "yp-a")?.name == "Person yp-a")
            #expect(try await store.listHomes(siteID: "almaty", after: nil, limit: 10).items.count == 2)
            #expect(try await store.listYoungPeople(siteID: "almaty", homeID: nil, after: nil, limit: 10).items.count == 3)
            // Refusals leave the version where it was.
            #expect(try await version(store) == afterCounsellor)
        }
    }

    @Test(arguments: StoreKind.all)
    func aRetryWithTheSameKeyGetsTheStoredReply(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let audited = try await store.auditEntries(after: 0, limit: 1000).count
            let reply: @Sendable (YoungPerson) throws -> [UInt8] = { Array($0.id.utf8) }
            let person = YoungPerson(id: "", homeID: "h-almaty-2", availability: Self.weekdays)
            guard case .applied(let created, let bytes) = try await store.createYoungPerson(person, context: context(key: "k1"), reply: reply) else {
                Issue.record("first call was not applied")
                return
            }
            #expect(bytes == Array(created.id.utf8))
            guard case .replayed(let replayed) = try await store.createYoungPerson(person, context: context(key: "k1"), reply: reply) else {
                Issue.record("retry was not replayed")
                return
            }
            #expect(replayed == bytes)
            #expect(try await store.listYoungPeople(siteID: nil, homeID: "h-almaty-2", after: nil, limit: 10).items.map(\.id) == ["yp-c", created.id])
            let entries = try await store.auditEntries(after: 0, limit: 1000)
            #expect(entries.count == audited + 1)
            #expect(entries.last?.records == ["young_person:\(created.id)"])
            #expect(entries.last?.actor == "tok_test")
            // The same key for another request is refused.
            await expectError(.alreadyExists, field: "idempotency_key") {
                _ = try await store.createHome(Home(id: "", siteID: "almaty", name: "x"), context: context(key: "k1", digest: [2]), reply: { _ in [] })
            }

            // A write replays too, and is audited once with every record it touched.
            let current = try await version(store)
            let write = CounsellingWrite(
                sessions: [session("s1", "yp-a", "c-almaty-1", day: 0)], counsellors: [], records: ["week:almaty/2030-W36"])
            let versionReply: @Sendable (Int64) throws -> [UInt8] = { Array(String($0).utf8) }
            guard
                case .applied(let written, _) = try await store.writeCounselling(
                    siteID: "almaty", expectedVersion: current, write, context: context(key: "w1"), reply: versionReply)
            else {
                Issue.record("write was not applied")
                return
            }
            #expect(written == current + 1)
            guard
                case .replayed(let again) = try await store.writeCounselling(
                    siteID: "almaty", expectedVersion: current, write, context: context(key: "w1"), reply: versionReply)
            else {
                Issue.record("write retry was not replayed")
                return
            }
            #expect(again == Array(String(current + 1).utf8))
            #expect(try await version(store) == current + 1)
            let last = try await store.auditEntries(after: 0, limit: 1000)
            #expect(last.count == audited + 2)
            #expect(last.last?.records == ["session:s1", "week:almaty/2030-W36"])
        }
    }

    // MARK: Import

    @Test(arguments: StoreKind.all)
    func anImportIsAllOrNothing(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let homes = [Home(id: "h-new", siteID: "ignored", name: "New home"), Home(id: "h-almaty-1", siteID: "almaty", name: "Replaced name")]
            let counsellors = [Counsellor(id: "c-new", siteID: "almaty", availability: Self.weekdays)]
            let people = [
                // Its home and preferred counsellor come in the same import.
                YoungPerson(id: "yp-new", homeID: "h-new", availability: Self.weekdays, preferredCounsellorID: "c-new"),
                // Stored ones, at the site.
                YoungPerson(id: "yp-b", homeID: "h-almaty-2", name: "Moved", availability: Self.weekdays, preferredCounsellorID: "c-almaty-1"),
            ]
            let before = try await version(store)
            let counts = try NurseryFixture.applied(
                try await store.importCounselling(
                    siteID: "almaty", homes: homes, youngPeople: people, counsellors: counsellors, context: context(), reply: { _ in [] }))
            var expected = CounsellingImportCounts()
            expected.homesCreated = 1
            expected.homesReplaced = 1
            expected.counsellorsCreated = 1
            expected.youngPeopleCreated = 1
            expected.youngPeopleReplaced = 1
            #expect(counts == expected)
            #expect(try await store.home(id: "h-new") == Home(id: "h-new", siteID: "almaty", name: "New home"))
            #expect(try await store.home(id: "h-almaty-1")?.name == "Replaced name")
            #expect(try await store.youngPerson(id: "yp-b")?.homeID == "h-almaty-2")
            #expect(try await store.youngPerson(id: "yp-b")?.name == "Moved")
            #expect(try await store.youngPersonSite(id: "yp-new") == "almaty")
            #expect(try await store.counsellor(id: "c-new")?.siteID == "almaty")
            #expect(try await version(store) == before + 1)
            let audit = try await store.auditEntries(after: 0, limit: 1000).last
            #expect(audit?.records == ["home:h-new", "home:h-almaty-1", "counsellor:c-new", "young_person:yp-new", "young_person:yp-b"])

            // A bad record anywhere: nothing of the import is written, and the error names it.
            func refused(_ code: SchedulerError.Code, _ field: String, homes: [Home] = [], people: [YoungPerson] = [], counsellors: [Counsellor] = []) async {
                await expectError(code, field: field) {
                    _ = try await store.importCounselling(
                        siteID: "almaty", homes: [Home(id: "h-never", siteID: "almaty", name: "never")] + homes, youngPeople: people,
                        counsellors: [Counsellor(id: "c-never", siteID: "almaty", availability: Availability())] + counsellors, context: context(),
                        reply: { _ in [] })
                }
            }
            let good = YoungPerson(id: "yp-never", homeID: "h-never", name: "Changed", availability: Self.weekdays)
            await refused(.notFound, "young_people[2].home_id", people: [good, good.with(id: "yp-a"), good.with(id: "yp-x", home: "h-missing")])
            await refused(.failedPrecondition, "young_people[1].home_id", people: [good, good.with(id: "yp-x", home: "h-astana-1")])
            await refused(
                .failedPrecondition, "young_people[1].preferred_counsellor_id", people: [good, good.with(id: "yp-x", preferred: "c-astana-1")])
            await refused(.notFound, "young_people[0].preferred_counsellor_id", people: [good.with(id: "yp-x", preferred: "c-missing")])
            await refused(
                .failedPrecondition, "homes[2].id",
                homes: [Home(id: "h-almaty-2", siteID: "almaty", name: "x"), Home(id: "h-astana-1", siteID: "almaty", name: "x")])
            await refused(.failedPrecondition, "counsellors[1].id", counsellors: [Counsellor(id: "c-astana-1", siteID: "almaty", availability: Availability())])
            await refused(.failedPrecondition, "young_people[1].id", people: [good, good.with(id: "yp-d")])
            await refused(.invalidArgument, "homes[1].id", homes: [Home(id: "h-never", siteID: "almaty", name: "twice")])
            await expectError(.notFound, field: "site_id") {
                _ = try await store.importCounselling(siteID: "nowhere", homes: [], youngPeople: [], counsellors: [], context: context(), reply: { _ in [] })
            }
            #expect(try await store.home(id: "h-never") == nil)
            #expect(try await store.counsellor(id: "c-never") == nil)
            #expect(try await store.youngPerson(id: "yp-never") == nil)
            #expect(try await store.youngPerson(id: "yp-a")?.name == "Person yp-a")
            #expect(try await version(store) == before + 1)

            // Thousands of records in one call.
            let bulkHomes = (0..<50).map { Home(id: String(format: "bulk-h%03d", $0), siteID: "astana", name: "Bulk \($0)") }
            let bulkCounsellors = (0..<100).map { Counsellor(id: String(format: "bulk-c%03d", $0), siteID: "astana", availability: Self.weekdays) }
            let bulkPeople = (0..<2_500).map {
                YoungPerson(
                    id: String(format: "bulk-y%04d", $0), homeID: bulkHomes[$0 % 50].id, availability: Self.weekdays,
                    preferredCounsellorID: $0 % 3 == 0 ? bulkCounsellors[$0 % 100].id : nil)
            }
            let started = ContinuousClock.now
            let bulk = try NurseryFixture.applied(
                try await store.importCounselling(
                    siteID: "astana", homes: bulkHomes, youngPeople: bulkPeople, counsellors: bulkCounsellors, context: context(), reply: { _ in [] }))
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(bulk.youngPeopleCreated == 2_500 && bulk.homesCreated == 50 && bulk.counsellorsCreated == 100)
            let snapshot = try #require(try await store.counsellingSnapshot(siteID: "astana", from: Self.week, to: Self.week))
            #expect(snapshot.youngPeople.count == 2_501)
            #expect(snapshot.youngPeople.first { $0.id == "bulk-y0003" }?.preferredCounsellorID == "bulk-c003")
            #expect(snapshot.homes.count == 51)
        }
    }

    // MARK: Snapshot and write

    @Test(arguments: StoreKind.all)
    func theSnapshotHoldsTheSiteAtOneVersion(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            #expect(try await store.counsellingSnapshot(siteID: "nowhere", from: Self.week, to: Self.week) == nil)
            let initial = try await version(store)
            // Two homes, two counsellors and three young people made at Almaty: seven changes.
            #expect(initial == 7)
            #expect(try await version(store, "astana") == 3)
            let sessions = [
                // Before the week: yp-a last met c-almaty-2 (a later cancelled one with c-almaty-1 does not count).
                session("s-old-1", "yp-a", "c-almaty-1", day: -7),
                session("s-old-2", "yp-a", "c-almaty-2", day: -5, start: "10:00"),
                session("s-old-3", "yp-a", "c-almaty-1", day: -5, start: "09:00"),
                session("s-old-4", "yp-a", "c-almaty-1", day: -3, status: .cancelled),
                session("s-old-5", "yp-c", "c-almaty-1", day: -14, home: "h-almaty-2", status: .done),
                // In the week, out of order.
                session("s-w3", "yp-b", "c-almaty-2", day: 2, start: "13:00"),
                session("s-w1", "yp-a", "c-almaty-1", day: 0, start: "11:00", sequence: 4),
                session("s-w2", "yp-b", "c-almaty-1", day: 0, start: "09:00", status: .cancelled),
                session("s-w0", "yp-c", "c-almaty-2", day: 0, start: "11:00", home: "h-almaty-2"),
                // After it.
                session("s-late", "yp-a", "c-almaty-1", day: 7),
            ]
            let written = try NurseryFixture.applied(
                try await store.writeCounselling(
                    siteID: "almaty", expectedVersion: initial, CounsellingWrite(sessions: sessions), context: context(), reply: { _ in [] }))
            #expect(written == initial + 1)
            let astana = session("s-astana", "yp-d", "c-astana-1", day: 0, home: "h-astana-1", site: "astana")
            _ = try await store.writeCounselling(
                siteID: "astana", expectedVersion: 3, CounsellingWrite(sessions: [astana]), context: context(), reply: { _ in [] })

            let snapshot = try #require(try await store.counsellingSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
            #expect(snapshot.site.id == "almaty" && snapshot.site.timeZone == "Asia/Almaty")
            #expect(snapshot.version == initial + 1)
            #expect(snapshot.homes.map(\.id) == ["h-almaty-1", "h-almaty-2"])
            #expect(snapshot.counsellors.map(\.id) == ["c-almaty-1", "c-almaty-2"])
            #expect(snapshot.youngPeople.map(\.id) == ["yp-a", "yp-b", "yp-c"])
            #expect(snapshot.sessions.map(\.id) == ["s-w2", "s-w0", "s-w1", "s-w3"])
            #expect(snapshot.sessions.first { $0.id == "s-w1" } == sessions[6])
            #expect(snapshot.sessions.first { $0.id == "s-w2" }?.session.status == .cancelled)
            #expect(snapshot.lastCounsellor == ["yp-a": "c-almaty-2", "yp-c": "c-almaty-1"])
            // A range that starts later sees later history.
            let later = try #require(try await store.counsellingSnapshot(siteID: "almaty", from: Self.day(1), to: Self.day(1)))
            #expect(later.sessions.isEmpty)
            // yp-b's only session before it was cancelled.
            #expect(later.lastCounsellor == ["yp-a": "c-almaty-1", "yp-c": "c-almaty-2"])
            let astanaSnapshot = try #require(try await store.counsellingSnapshot(siteID: "astana", from: Self.week, to: Self.day(6)))
            #expect(astanaSnapshot.sessions == [astana])
            #expect(astanaSnapshot.youngPeople.map(\.id) == ["yp-d"])
            #expect(astanaSnapshot.version == 4)
        }
    }

    @Test(arguments: StoreKind.all)
    func aWriteFromAnOlderVersionIsAbortedAndWritesNothing(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let snapshot = try #require(try await store.counsellingSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
            var absent = try #require(snapshot.counsellors.first { $0.id == "c-almaty-1" })
            absent.availability.awayDates = [Self.day(0), Self.day(1)]
            let first = CounsellingWrite(
                sessions: [session("s1", "yp-a", "c-almaty-2", day: 0), session("s2", "yp-b", "c-almaty-2", day: 2)], counsellors: [absent],
                records: ["week:almaty/2030-W36"])
            let version = try NurseryFixture.applied(
                try await store.writeCounselling(siteID: "almaty", expectedVersion: snapshot.version, first, context: context(), reply: { _ in [] }))
            #expect(version == snapshot.version + 1)
            #expect(try await store.counsellor(id: "c-almaty-1")?.availability.awayDates == [Self.day(0), Self.day(1)])
            #expect(try await store.session(id: "s1") == first.sessions[0])
            // The audit names every session and counsellor written, and the caller's records.
            #expect(
                try await store.auditEntries(after: 0, limit: 1000).last?.records == [
                    "session:s1", "session:s2", "counsellor:c-almaty-1", "week:almaty/2030-W36",
                ])

            // Decided from the old snapshot: refused, nothing written.
            let stale = CounsellingWrite(sessions: [session("s3", "yp-c", "c-almaty-1", day: 1, home: "h-almaty-2")], counsellors: [snapshot.counsellors[0]])
            await expectError(.aborted, containing: "changed while this was decided") {
                _ = try await store.writeCounselling(siteID: "almaty", expectedVersion: snapshot.version, stale, context: context(), reply: { _ in [] })
            }
            #expect(try await store.session(id: "s3") == nil)
            #expect(try await store.counsellor(id: "c-almaty-1")?.availability.awayDates == [Self.day(0), Self.day(1)])
            #expect(try await self.version(store) == version)

            // Any change of a record moves the version, so a write decided before it is refused too.
            _ = try await store.updateYoungPerson(id: "yp-c", context: context(), reply: { _ in [] }) { $0.sessionsPerWeek = 3 }
            await expectError(.aborted) {
                _ = try await store.writeCounselling(siteID: "almaty", expectedVersion: version, stale, context: context(), reply: { _ in [] })
            }
            #expect(try await store.session(id: "s3") == nil)

            // Re-writing a session replaces it (by id), with its new sequence.
            var moved = first.sessions[0]
            moved.session.start = 600
            moved.session.counsellorID = "c-almaty-1"
            moved.sequence = 1
            let current = try await self.version(store)
            _ = try await store.writeCounselling(
                siteID: "almaty", expectedVersion: current, CounsellingWrite(sessions: [moved]), context: context(), reply: { _ in [] })
            #expect(try await store.session(id: "s1") == moved)

            // Sessions of records of another site are refused, naming the field.
            let now = try await self.version(store)
            await expectError(.failedPrecondition, field: "sessions[1].young_person_id") {
                _ = try await store.writeCounselling(
                    siteID: "almaty", expectedVersion: now,
                    CounsellingWrite(sessions: [session("s4", "yp-a", "c-almaty-1", day: 3), session("s5", "yp-d", "c-almaty-1", day: 3)]), context: context(),
                    reply: { _ in [] })
            }
            await expectError(.notFound, field: "sessions[0].counsellor_id") {
                _ = try await store.writeCounselling(
                    siteID: "almaty", expectedVersion: now, CounsellingWrite(sessions: [session("s4", "yp-a", "c-none", day: 3)]), context: context(),
                    reply: { _ in [] })
            }
            #expect(try await store.session(id: "s4") == nil)
            #expect(try await self.version(store) == now)
        }
    }

    @Test(arguments: StoreKind.all)
    func ofWritersFromOneSnapshotExactlyOneWins(kind: StoreKind) async throws {
        try await kind.withStore { store, directory in
            try await seed(store)
            // A second store on the same data: another server process (on SQLite, the same file).
            try await kind.withOpened(directory) { other in
                let snapshot = try #require(try await store.counsellingSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
                let writers = 8
                let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                    for index in 0..<writers {
                        let target = index % 2 == 0 ? store : other
                        group.addTask {
                            let write = CounsellingWrite(
                                sessions: [
                                    self.session("s-\(index)", "yp-a", "c-almaty-\(1 + index % 2)", day: 0),
                                    self.session("t-\(index)", "yp-b", "c-almaty-1", day: 2),
                                ])
                            do {
                                _ = try await target.writeCounselling(
                                    siteID: "almaty", expectedVersion: snapshot.version, write, context: self.context(), reply: { _ in [] })
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
                let after = try #require(try await other.counsellingSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
                #expect(after.version == snapshot.version + 1)
                #expect(Set(after.sessions.map(\.id)) == ["s-\(winner)", "t-\(winner)"])
            }
        }
    }

    // MARK: Sessions

    @Test(arguments: StoreKind.all)
    func sessionsAreListedByCounsellorOrYoungPersonDatesAndStatus(kind: StoreKind) async throws {
        try await kind.withStore { store, _ in
            try await seed(store)
            let all = [
                session("s1", "yp-a", "c-almaty-1", day: 0, start: "14:00"),
                session("s2", "yp-a", "c-almaty-2", day: 0, start: "09:00"),
                session("s3", "yp-b", "c-almaty-1", day: 2, status: .cancelled),
                session("s4", "yp-b", "c-almaty-1", day: 3, status: .done),
                session("s5", "yp-a", "c-almaty-1", day: 9),
                session("s0", "yp-a", "c-almaty-1", day: 0, start: "14:00"),
            ]
            _ = try await store.writeCounselling(
                siteID: "almaty", expectedVersion: try await version(store), CounsellingWrite(sessions: all), context: context(), reply: { _ in [] })
            func ids(_ counsellor: String?, _ person: String?, _ from: Int = 0, _ to: Int = 6, cancelled: Bool = false) async throws -> [String] {
                try await store.sessions(counsellorID: counsellor, youngPersonID: person, from: Self.day(from), to: Self.day(to), includeCancelled: cancelled)
                    .map(\.id)
            }
            #expect(try await ids("c-almaty-1", nil) == ["s0", "s1", "s4"])
            #expect(try await ids("c-almaty-1", nil, cancelled: true) == ["s0", "s1", "s3", "s4"])
            #expect(try await ids(nil, "yp-a") == ["s2", "s0", "s1"])
            #expect(try await ids(nil, "yp-a", 0, 9) == ["s2", "s0", "s1", "s5"])
            #expect(try await ids(nil, "yp-a", 1, 8) == [])
            #expect(try await ids("c-almaty-1", "yp-b", cancelled: true) == ["s3", "s4"])
            #expect(try await ids("c-almaty-2", nil, 3, 3) == [])
            #expect(try await ids("c-none", nil) == [])
            #expect(try await store.session(id: "s4") == all[3])
            #expect(try await store.session(id: "none") == nil)
            await expectError(.invalidArgument) {
                _ = try await store.sessions(counsellorID: nil, youngPersonID: nil, from: Self.week, to: Self.week, includeCancelled: true)
            }
        }
    }

    // MARK: Transfer

    @Test func aTransferBetweenStoresCarriesTheCounsellingRecords() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteStore(directory: directory.appendingPathComponent("sqlite"))
        try await seed(sqlite)
        _ = try await sqlite.writeCounselling(
            siteID: "almaty", expectedVersion: try await version(sqlite),
            CounsellingWrite(sessions: [session("s1", "yp-a", "c-almaty-1", day: -3, status: .done), session("s2", "yp-b", "c-almaty-2", day: 1)]),
            context: context(), reply: { _ in [] })
        _ = try await sqlite.updateYoungPerson(id: "yp-a", context: context(), reply: { _ in [] }) {
            $0.preferredCounsellorID = "c-almaty-1"
            $0.requiredQualifications = ["trauma"]
        }
        let exported = RowCollector()
        try await sqlite.exportRows { exported.append($0) }
        let tables = Set(exported.rows.map(\.table))
        #expect(tables.isSuperset(of: ["home", "young_person", "counsellor", "counselling_session", "counselling_version"]))
        #expect(exported.rows.filter { $0.table == "counselling_session" }.count == 2)
        let before = try #require(try await sqlite.counsellingSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
        try await TestPostgres.withStore(for: directory) { postgres in
            try await postgres.importRows(exported.rows)
            let imported = RowCollector()
            try await postgres.exportRows { imported.append($0) }
            #expect(imported.rows == exported.rows)
            let after = try #require(try await postgres.counsellingSnapshot(siteID: "almaty", from: Self.week, to: Self.day(6)))
            #expect(after.version == before.version)
            #expect(after.youngPeople == before.youngPeople)
            #expect(after.counsellors == before.counsellors)
            #expect(after.sessions == before.sessions)
            #expect(after.lastCounsellor == ["yp-a": "c-almaty-1"])
        }
        try await sqlite.close()
    }
}

final class RowCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [StoreDump.Row] = []
    func append(_ row: StoreDump.Row) { lock.withLock { stored.append(row) } }
    var rows: [StoreDump.Row] { lock.withLock { stored } }
}

extension YoungPerson {
    fileprivate func with(id: String, home: String? = nil, preferred: String? = nil) -> YoungPerson {
        var copy = self
        copy.id = id
        if let home { copy.homeID = home }
        if let preferred { copy.preferredCounsellorID = preferred }
        return copy
    }
}
