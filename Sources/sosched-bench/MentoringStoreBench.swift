import ArgumentParser
import Foundation
import SchedulerCore
import SchedulerStore

/// The store's share of a mentor batch (quality.md: 5,000 young people x 500 mentors < 0.5 s end
/// to end): a site of that size written straight into a store (SQLite in a temporary directory,
/// or a PostgreSQL database). Each of `repeats` runs takes four weeks of its own, with a
/// counsellor session per young person in them, and times `mentoringSnapshot` of those weeks
/// (before the run's batch: the site's mentors, young people, counsellor sessions and the pairs
/// of earlier runs), `saveMentorBatch` of four weekly sessions per young person (20,000
/// sessions, at the version read), and the snapshot again with those sessions in it. Medians;
/// one JSON line each.
struct MentoringStoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mentoring-store",
        abstract: "Time the store's mentoring snapshot and batch save (no server).",
        discussion: """
            Examples:
              sosched-bench mentoring-store --people 5000 --mentors 500
              SOSCHED_PG_PASSWORD=... sosched-bench mentoring-store --store postgres://sosched@127.0.0.1:5432/postgres
            """)

    @Option(help: "sqlite (a new file in a temporary directory) or a postgres:// URL (password in SOSCHED_PG_PASSWORD).") var store = "sqlite"
    @Option(help: "Young people.") var people = 5_000
    @Option(help: "Mentors.") var mentors = 500
    @Option(help: "Sessions per young person in a batch (one a week).") var sessions = 4
    @Option(help: "Timed runs; the median is reported.") var repeats = 5

    /// Monday of the batch's first week, well in the future.
    static let monday = CivilDate(parsing: "2030-01-07") ?? CivilDate(dayNumber: 21_921)

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sosched-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let opened: any Store
        if store == "sqlite" {
            opened = try SQLiteStore(directory: directory)
        } else {
            let location = try PostgresLocation(parsing: store)
            opened = try await PostgresStore(location: location, password: ProcessInfo.processInfo.environment["SOSCHED_PG_PASSWORD"])
        }
        try await opened.withRunningServices { try await measure(opened) }
        try await opened.close()
    }

    /// CPU time this process has used (all its threads), in milliseconds.
    static func cpuMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1_000_000
    }

    func context() -> MutationContext { MutationContext(actor: nil, method: "bench") }

    func measure(_ store: any Store) async throws {
        // A site of its own, so runs can share one PostgreSQL database.
        let site = "bench-" + String(UUID().uuidString.prefix(8)).lowercased()
        let allWeek = Availability(windows: Weekday.allCases.map { WeeklyWindow(weekday: $0, start: 8 * 60, end: 20 * 60) })
        _ = try await store.createSite(Site(id: site, name: "Bench", timeZone: "Asia/Almaty"), context: context()) { _ in [] }
        let home = Home(id: "\(site)-home", siteID: site, name: "Home")
        let counsellors = (0..<max(1, people / 100)).map { Counsellor(id: "\(site)-c\($0)", siteID: site, availability: allWeek) }
        let youngPeople = (0..<people).map { YoungPerson(id: String(format: "\(site)-y%05d", $0), homeID: home.id, availability: allWeek) }
        _ = try await store.importCounselling(
            siteID: site, homes: [home], youngPeople: youngPeople, counsellors: counsellors, context: context(), reply: { _ in [] })
        let fields = ["it", "finance", "crafts", "cooking", "health", "trades", "media", "law"]
        let mentorList = (0..<mentors).map { index in
            Mentor(
                id: String(format: "\(site)-m%04d", index), siteID: site, organisation: "Org", name: "Mentor \(index)",
                fields: [fields[index % fields.count], fields[(index / fields.count) % fields.count]], capacity: 20, availability: allWeek)
        }
        _ = try await store.importMentors(siteID: site, mentors: mentorList, context: context()) { _ in [] }
        guard let snapshot = try await store.counsellingSnapshot(siteID: site, from: Self.monday, to: Self.monday) else { return }
        let runs = max(1, repeats)
        let days = 7 * sessions
        let counselling = (0..<runs).flatMap { run in
            youngPeople.enumerated().map { index, person in
                StoredSession(
                    session: CounsellingSession(
                        id: "\(site)-cs\(run)-\(index)", youngPersonID: person.id, counsellorID: counsellors[index % counsellors.count].id,
                        date: Self.monday.adding(days: run * days + index % days), start: 9 * 60, minutes: 60, homeID: home.id),
                    siteID: site)
            }
        }
        _ = try await store.writeCounselling(
            siteID: site, expectedVersion: snapshot.version, CounsellingWrite(sessions: counselling), context: context(), reply: { _ in [] })

        var before: [Double] = [], after: [Double] = [], saves: [Double] = []
        // The process's CPU time too: on a shared machine the wall time includes waits for a core.
        var cpu: (before: [Double], after: [Double], saves: [Double]) = ([], [], [])
        var read: (before: MentoringSnapshot?, after: MentoringSnapshot?)
        for run in 0..<runs {
            let first = Self.monday.adding(days: run * days), last = first.adding(days: days - 1)
            var start = ContinuousClock.now
            var cpuStart = Self.cpuMilliseconds()
            guard let current = try await store.mentoringSnapshot(siteID: site, from: first, to: last) else { return }
            before.append(IntakeBench.milliseconds(ContinuousClock.now - start))
            cpu.before.append(Self.cpuMilliseconds() - cpuStart)
            read.before = current
            let batch = StoredMentorBatch(
                id: "\(site)-b\(run)", siteID: site, inputDigest: Array(repeating: UInt8(run % 256), count: 32), answer: Array(repeating: 1, count: 4096),
                createdAt: Date())
            var placed: [StoredMentorSession] = []
            placed.reserveCapacity(people * sessions)
            for (index, person) in youngPeople.enumerated() {
                for week in 0..<sessions {
                    placed.append(
                        StoredMentorSession(
                            session: MentorSession(
                                id: "", mentorID: mentorList[index % mentorList.count].id, youngPersonID: person.id,
                                date: first.adding(days: 7 * week + index % 5), start: (10 + index % 8) * 60, minutes: 60),
                            siteID: site))
                }
            }
            start = ContinuousClock.now
            cpuStart = Self.cpuMilliseconds()
            _ = try await store.saveMentorBatch(batch, sessions: placed, expectedVersion: current.version, context: context(), reply: { _ in [] })
            saves.append(IntakeBench.milliseconds(ContinuousClock.now - start))
            cpu.saves.append(Self.cpuMilliseconds() - cpuStart)
            start = ContinuousClock.now
            cpuStart = Self.cpuMilliseconds()
            read.after = try await store.mentoringSnapshot(siteID: site, from: first, to: last)
            after.append(IntakeBench.milliseconds(ContinuousClock.now - start))
            cpu.after.append(Self.cpuMilliseconds() - cpuStart)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
        let parameters: [String: Any] = [
            "store": store.kind, "people": people, "mentors": mentors, "sessions_per_person": sessions, "repeats": saves.count,
        ]
        func counts(_ snapshot: MentoringSnapshot?) -> [String: Any] {
            [
                "mentors_read": snapshot?.mentors.count ?? 0, "young_people_read": snapshot?.youngPeople.count ?? 0,
                "counselling_sessions_read": snapshot?.counsellingSessions.count ?? 0, "mentor_sessions_read": snapshot?.mentorSessions.count ?? 0,
                "pairs_read": snapshot?.pairs.count ?? 0,
            ]
        }
        for (name, times, cpuTimes, extra) in [
            ("mentoring_store_snapshot", before, cpu.before, counts(read.before)),
            ("mentoring_store_save_batch", saves, cpu.saves, ["sessions_saved": people * sessions]),
            ("mentoring_store_snapshot_with_batch", after, cpu.after, counts(read.after)),
        ] {
            let line: [String: Any] = [
                "name": name, "value": rounded(median(times)), "unit": "ms", "min": rounded(times.min() ?? 0), "max": rounded(times.max() ?? 0),
                "cpu_ms": rounded(median(cpuTimes)),
            ]
            try emit(parameters.merging(line) { a, _ in a }.merging(extra) { a, _ in a })
        }
    }
}
