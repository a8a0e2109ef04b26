import Foundation
import Logging
import SchedulerClient
import SchedulerCore
import SchedulerServer
import SchedulerStore

/// Counselling records for server tests, written directly to the store: at site almaty, homes
/// `home-1` and `home-2`, counsellors `c1` (qualified `trauma`) and `c2`, and young people
/// `yp-1`...`yp-4`; at site astana, home `astana-home`, counsellor `a1` and young person `ya-1`.
/// Everyone is available every day from 08:00 to 20:00 (yp-4 needs `trauma`).
public enum CounsellingFixture {
    static func context() -> MutationContext { MutationContext(actor: nil, method: "test") }

    static let allWeek = Weekday.allCases.map { WeeklyWindow(weekday: $0, start: 8 * 60, end: 20 * 60) }

    public static func seed(_ store: any Store) async throws {
        if try await store.site(id: "almaty") == nil {
            for site in ["almaty", "astana"] {
                _ = try await store.createSite(Site(id: site, name: site.capitalized, timeZone: "Asia/Almaty"), context: context()) { _ in [] }
            }
        }
        let homes = [Home(id: "home-1", siteID: "almaty", name: "Home One"), Home(id: "home-2", siteID: "almaty", name: "Home Two")]
        let counsellors = [
            Counsellor(id: "c1", siteID: "almaty", name: "Aigerim", availability: Availability(windows: allWeek), qualifications: ["trauma"]),
            Counsellor(id: "c2", siteID: "almaty", name: "Bolat", availability: Availability(windows: allWeek)),
        ]
        let people = (1...4).map { index in
            YoungPerson(
                id: "yp-\(index)", homeID: index <= 2 ? "home-1" : "home-2", name: "Young \(index)", availability: Availability(windows: allWeek),
                sessionsPerWeek: index == 1 ? 2 : 1, requiredQualifications: index == 4 ? ["trauma"] : [])
        }
        _ = try await store.importCounselling(
            siteID: "almaty", homes: homes, youngPeople: people, counsellors: counsellors, context: context(), reply: { _ in [] })
        _ = try await store.importCounselling(
            siteID: "astana", homes: [Home(id: "astana-home", siteID: "astana", name: "Astana Home")],
            youngPeople: [YoungPerson(id: "ya-1", homeID: "astana-home", name: "Young A", availability: Availability(windows: allWeek))],
            counsellors: [Counsellor(id: "a1", siteID: "astana", name: "Dana", availability: Availability(windows: allWeek))], context: context(),
            reply: { _ in [] })
    }

    /// A scheduled session of its own (a new young person at home-1 and counsellor `counsellor`
    /// on `date` at 10:00), written as a coordinator's write would be; returns it.
    public static func newSession(_ store: any Store, n: UInt64, date: CivilDate, counsellor: String = "c1") async throws -> StoredSession {
        let person = YoungPerson(id: "ys-\(n)", homeID: "home-1", name: "Extra \(n)", availability: Availability(windows: allWeek))
        _ = try await store.createYoungPerson(person, context: context()) { _ in [] }
        guard let snapshot = try await store.counsellingSnapshot(siteID: "almaty", from: date, to: date) else { throw TestFailure("no site almaty") }
        let session = StoredSession(
            session: CounsellingSession(
                id: "ses-\(n)", youngPersonID: person.id, counsellorID: counsellor, date: date, start: 10 * 60, minutes: 60, homeID: "home-1"),
            siteID: "almaty")
        _ = try await store.writeCounselling(
            siteID: "almaty", expectedVersion: snapshot.version, CounsellingWrite(sessions: [session]), context: context(), reply: { _ in [] })
        return session
    }
}

extension CounsellingFixture {
    /// Mentor `m-1` at almaty (it, cooking; everyone's hours).
    public static func seedMentor(_ store: any Store) async throws {
        guard try await store.mentor(id: "m-1") == nil else { return }
        _ = try await store.importMentors(
            siteID: "almaty",
            mentors: [
                Mentor(id: "m-1", siteID: "almaty", name: "Mentor", fields: ["it", "cooking"], capacity: 1000, availability: Availability(windows: allWeek))
            ],
            context: context(), reply: { _ in [] })
    }

    /// A saved batch `batch-N` of one future session of `m-1` with a young person of its own.
    public static func newMentorBatch(_ store: any Store, n: UInt64, date: CivilDate) async throws -> StoredMentorSession {
        try await seedMentor(store)
        let person = YoungPerson(id: "ym-\(n)", homeID: "home-1", name: "Mentee \(n)", availability: Availability(windows: allWeek))
        _ = try await store.createYoungPerson(person, context: context()) { _ in [] }
        guard let snapshot = try await store.mentoringSnapshot(siteID: "almaty", from: date, to: date) else { throw TestFailure("no site almaty") }
        let session = StoredMentorSession(
            session: MentorSession(id: "mses-\(n)", mentorID: "m-1", youngPersonID: person.id, date: date, start: 9 * 60, minutes: 60, batchID: "batch-\(n)"),
            siteID: "almaty")
        _ = try await store.saveMentorBatch(
            StoredMentorBatch(id: "batch-\(n)", siteID: "almaty", inputDigest: [UInt8(n % 256)], answer: [], createdAt: Date()), sessions: [session],
            expectedVersion: snapshot.version, context: context(), reply: { _ in [] })
        return session
    }
}

/// A real server on a free loopback port over a store of any kind (SQLite or PostgreSQL).
public struct StoreServer: Sendable {
    public let server: Server
    public let store: any Store
    public let port: Int
    public let adminToken: String
    /// The store's directory (the SQLite file, or the name of the PostgreSQL test database).
    public let directory: URL

    public var address: ServerAddress { .tcp(host: "127.0.0.1", port: port) }
    public func client(token: String?) -> SchedulerClient { SchedulerClient(address: address, token: token) }

    public func makeToken(role: Role, scope: Scope? = nil) async throws -> String {
        let outcome = try await store.createToken(
            role: role, scope: scope, name: "test \(role.rawValue)", context: MutationContext(actor: nil, method: "test")
        ) { _ in [] }
        guard case .applied(let issued, _) = outcome else { throw TestFailure("token was not created") }
        return issued.secret
    }

    /// Runs `body` against a server over a fresh store of `kind`, and always stops both.
    /// `now` is the server's clock (the real one unless a test fixes the day); `configure`
    /// changes the configuration before the server starts.
    public static func with<T>(
        _ kind: StoreKind, now: @escaping @Sendable () -> Date = { Date() }, configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (StoreServer) async throws -> T
    ) async throws -> T {
        try await kind.withStore { store, directory in
            var configuration = ServerConfiguration()
            configuration.listeners = [.tcp(host: "127.0.0.1", port: 0)]
            configuration.eventLoopThreads = 2
            configure(&configuration)
            var logger = Logger(label: "test-server")
            logger.logLevel = .critical
            let server = try Server(configuration: configuration, store: store, logger: logger, now: now)
            try await server.start()
            do {
                let port = server.localAddresses.compactMap(\.port).first ?? 0
                var running = StoreServer(server: server, store: store, port: port, adminToken: "", directory: directory)
                running = StoreServer(
                    server: server, store: store, port: port, adminToken: try await running.makeToken(role: .admin), directory: directory)
                let result = try await body(running)
                try await server.shutdownGracefully()
                return result
            } catch {
                try? await server.shutdownGracefully()
                throw error
            }
        }
    }
}
