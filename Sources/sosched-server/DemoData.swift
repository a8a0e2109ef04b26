import ArgumentParser
import Foundation
import SchedulerCore
import SchedulerStore

/// Loads a realistic demo into a store: Almaty and Astana, a nursery of three age groups each,
/// a few dozen SOS and local families with their children, and placements booked by the rules.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load demo sites, nurseries, families, children and placements into a new store.",
        discussion: """
            Refuses a store that already has sites. The data is made up and the same every time.

            Example:
              sosched-server demo --data ./var
            """)

    @OptionGroup var data: DataOptions

    func run() async throws {
        let store = try await data.openStore()
        do {
            let summary = try await store.withRunningServices { try await DemoData.load(into: store) }
            try await store.close()
            print(summary)
        } catch {
            try? await store.close()
            throw error
        }
    }
}

enum DemoData {
    static let names = [
        "Aigerim", "Alikhan", "Amina", "Arman", "Aruzhan", "Dana", "Daniyar", "Dias", "Inkar", "Kamila", "Madina", "Nurlan",
        "Sanzhar", "Sofia", "Timur", "Zarina", "Yerlan", "Aisha", "Ayan", "Miras", "Alina", "Bekzat", "Diana", "Eldar",
    ]
    static let holidays = [
        "2026-12-16", "2027-01-01", "2027-01-02", "2027-01-07", "2027-03-08", "2027-03-20", "2027-03-21", "2027-03-22",
        "2027-03-23", "2027-05-01", "2027-05-07", "2027-05-09",
    ]

    static func context() -> MutationContext { MutationContext(actor: nil, method: "sosched-server demo") }

    static func load(into store: any Store) async throws -> String {
        guard try await store.listSites(after: nil, limit: 1).items.isEmpty else {
            throw DemoError(description: "the store already has sites; load the demo into a new --data directory")
        }
        var random = DemoRandom(seed: 2026)
        var families = 0, children = 0, placements = 0, refused = 0
        for (site, name) in [("almaty", "Almaty"), ("astana", "Astana")] {
            _ = try await store.createSite(Site(id: site, name: "\(name) SOS Children's Village", timeZone: "Asia/Almaty"), context: context()) { _ in [] }
            let nursery = Nursery(
                id: "\(site)-1", siteID: site, name: "\(name) village nursery",
                closures: Set(holidays.compactMap(CivilDate.init(parsing:))))
            _ = try await store.createNursery(nursery, context: context()) { _ in [] }
            let groups = [
                Group(id: "\(site)-babies", nurseryID: nursery.id, name: "Babies", minAgeMonths: 6, maxAgeMonths: 18, capacity: 8, reservedSOS: 3),
                Group(
                    id: "\(site)-toddlers", nurseryID: nursery.id, name: "Toddlers", minAgeMonths: 18, maxAgeMonths: 36, capacity: 12, reservedSOS: 4,
                    reservedLocal: 2),
                Group(
                    id: "\(site)-preschool", nurseryID: nursery.id, name: "Preschool", minAgeMonths: 36, maxAgeMonths: 72, capacity: 16, reservedSOS: 5,
                    reservedLocal: 3),
            ]
            for group in groups { _ = try await store.createGroup(group, context: context()) { _ in [] } }

            let start = CivilDate(parsing: "2026-09-01")!
            let patterns = ["mon-fri:full", "mon-fri:full", "mon-fri:am", "mon-fri:pm", "mon,wed,fri:full", "tue-thu:am"]
            for index in 0..<24 {
                let kind: FamilyKind = index % 2 == 0 ? .sos : .local
                guard
                    case .applied(let family, _) = try await store.registerFamily(
                        Family(
                            id: "", siteID: site, kind: kind, singleParent: random.next(4) == 0, parentsWorking: kind == .local || random.next(3) == 0,
                            contactRef: "\(site)-office:\(1000 + index)"),
                        context: context(), reply: { _ in [] })
                else { continue }
                families += 1
                for _ in 0..<(1 + random.next(kind == .sos ? 3 : 2)) {
                    let birth = start.adding(days: -(200 + random.next(1900)))
                    guard
                        case .applied(let child, _) = try await store.registerChild(
                            Child(
                                id: "", familyID: family.id, givenName: names[random.next(names.count)], birthDate: birth, specialNeeds: random.next(10) == 0),
                            context: context(), reply: { _ in [] })
                    else { continue }
                    children += 1
                    let first = start.adding(days: random.next(3) * 7)
                    let age = birth.months(until: first)
                    guard random.next(10) < 7, let group = groups.first(where: { $0.accepts(ageMonths: age) }) else { continue }
                    let last: CivilDate? = random.next(4) == 0 ? CivilDate(parsing: "2027-05-31") : nil
                    do {
                        _ = try await store.bookPlace(
                            BookingInput(
                                childID: child.id, groupID: group.id, first: first, last: last,
                                pattern: try WeeklyPattern(parsing: patterns[random.next(patterns.count)])),
                            context: context(), authorize: { _ in }, reply: { _ in [] })
                        placements += 1
                    } catch is BookingRefused {
                        refused += 1
                    }
                }
            }
        }
        let intake = try await intakeRound(store, random: &random)
        let counselling = try await counselling(store, random: &random)
        let mentoring = try await mentors(store)
        return "loaded the demo: 2 sites (almaty, astana), 2 nurseries (almaty-1, astana-1), 6 groups, \(families) families, "
            + "\(children) children, \(placements) placements (\(refused) bookings did not fit and were left out); \(intake); \(counselling); \(mentoring)"
    }

    /// An open intake round at Almaty for the 2027 term: offers in each group that fit, and an
    /// application for every Almaty child some offer takes at their age.
    static func intakeRound(_ store: any Store, random: inout DemoRandom) async throws -> String {
        let round = IntakeRoundInfo(
            id: "almaty-2027", siteID: "almaty", name: "Almaty autumn 2027", first: CivilDate(parsing: "2027-09-01")!,
            last: CivilDate(parsing: "2028-05-31")!, deadline: 1_814_399_999_000, seed: 2027)  // applications until 2027-06-30 UTC
        _ = try await store.createRound(round, context: context()) { _ in [] }
        var offers: [IntakeOffer] = []
        for group in ["almaty-babies", "almaty-toddlers", "almaty-preschool"] {
            for (suffix, pattern, places, sos) in [("full", "mon-fri:full", 3, 1), ("am", "mon-fri:am", 2, 0)] {
                let offer = IntakeOffer(
                    id: "\(group.dropFirst("almaty-".count))-\(suffix)", groupID: group, nurseryID: "", pattern: try WeeklyPattern(parsing: pattern),
                    places: places, reservedSOS: sos)
                do {
                    _ = try await store.openOffer(offer, roundID: round.id, context: context()) { _ in [] }
                    offers.append(offer)
                } catch let error as SchedulerError where error.code == .failedPrecondition {
                    continue  // the group has no room left for it over the term
                }
            }
        }
        var groups: [String: Group] = [:]
        for offer in offers where groups[offer.groupID] == nil { groups[offer.groupID] = try await store.group(id: offer.groupID) }
        var applications: [ApplicationInput] = []
        for child in try await store.listChildren(familyID: nil, siteID: "almaty", after: nil, limit: 1000).items {
            let age = child.birthDate.months(until: round.first)
            var fitting = offers.filter { groups[$0.groupID]?.accepts(ageMonths: age) == true }.map(\.id)
            guard !fitting.isEmpty else { continue }
            if random.next(2) == 0 { fitting.reverse() }
            applications.append(ApplicationInput(childID: child.id, ranking: fitting))
        }
        if !applications.isEmpty {
            _ = try await store.submitApplications(roundID: round.id, applications, context: context(), authorize: { _ in }, reply: { _ in [] })
        }
        return
            "an open intake round almaty-2027 with \(offers.count) offers and \(applications.count) applications (try: sosched intake run --round almaty-2027 --dry-run)"
    }

    /// Counselling at each site: three homes, a dozen young people (after school and work, one to
    /// three sessions a week, some with a preferred counsellor, one needing a trauma-informed
    /// counsellor) and three counsellors on weekday shifts.
    static func counselling(_ store: any Store, random: inout DemoRandom) async throws -> String {
        let evenings = ["16:00-19:00", "17:00-20:00", "15:00-18:00"]
        var people = 0
        for site in ["almaty", "astana"] {
            let homes = (1...3).map { Home(id: "\(site)-h\($0)", siteID: site, name: "\(site.capitalized) home \($0)") }
            let counsellors = [
                Counsellor(
                    id: "\(site)-c1", siteID: site, name: "Gulnara", availability: try windows("mon-fri", "10:00-19:00"), qualifications: ["trauma"],
                    maxSessionsPerWeek: 10),
                Counsellor(id: "\(site)-c2", siteID: site, name: "Yerlan", availability: try windows("mon-thu", "13:00-20:00"), maxSessionsPerWeek: 10),
                Counsellor(id: "\(site)-c3", siteID: site, name: "Saule", availability: try windows("tue-sat", "09:00-18:00"), maxSessionsPerWeek: 8),
            ]
            var young: [YoungPerson] = []
            for index in 1...12 {
                let days = ["mon,wed", "tue,thu", "mon-fri", "wed,fri,sat", "mon,tue,thu"][random.next(5)]
                young.append(
                    YoungPerson(
                        id: "\(site)-y\(index)", homeID: homes[index % 3].id, name: names[(index * 5 + (site == "almaty" ? 0 : 3)) % names.count],
                        availability: try windows(days, evenings[random.next(evenings.count)]), sessionsPerWeek: 1 + random.next(3),
                        preferredCounsellorID: random.next(3) == 0 ? counsellors[random.next(counsellors.count)].id : nil,
                        requiredQualifications: index == 4 ? ["trauma"] : []))
            }
            people += young.count
            _ = try await store.importCounselling(
                siteID: site, homes: homes, youngPeople: young, counsellors: counsellors, context: context(), reply: { _ in [] })
        }
        return "counselling: 6 homes, \(people) young people and 6 counsellors (try: sosched plan week --site almaty --week 2026-W50 --dry-run)"
    }

    /// Mentors at each site from local companies and crafts, with evening and weekend hours.
    static func mentors(_ store: any Store) async throws -> String {
        var count = 0
        for site in ["almaty", "astana"] {
            let mentors = [
                Mentor(
                    id: "\(site)-m1", siteID: site, organisation: "Kaspi tech club", name: "Arman", fields: ["it", "design"], capacity: 3,
                    availability: try windows("mon,wed", "17:00-20:00")),
                Mentor(
                    id: "\(site)-m2", siteID: site, organisation: "Halyk finance volunteers", name: "Dana", fields: ["finance", "it"], capacity: 2,
                    availability: try windows("tue,thu", "18:00-20:00")),
                Mentor(
                    id: "\(site)-m3", siteID: site, organisation: "Village crafts workshop", name: "Bolat", fields: ["crafts", "design"], capacity: 4,
                    availability: try windows("sat", "10:00-14:00"), sessionMinutes: 90),
                Mentor(
                    id: "\(site)-m4", siteID: site, organisation: "Chefs for kids", name: "Madina", fields: ["cooking"], capacity: 3,
                    availability: try windows("wed,fri", "16:00-19:00")),
            ]
            count += mentors.count
            _ = try await store.importMentors(siteID: site, mentors: mentors, context: context(), reply: { _ in [] })
        }
        return "mentoring: \(count) mentors (try: sosched mentors assign --site almaty --file Docs/examples/mentor-batch.csv --dry-run)"
    }

    /// Windows on the days of `days` (a pattern's day part, "mon-fri") from the times "HH:MM-HH:MM".
    static func windows(_ days: String, _ times: String) throws -> Availability {
        let pattern = try WeeklyPattern(parsing: days + ":am")
        return Availability(windows: pattern.weekdays.sorted().compactMap { WeeklyWindow(parsing: "\($0.shortName) \(times)") })
    }
}

/// A small seeded generator, so the demo is the same every time.
struct DemoRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
}
