import Foundation
import SchedulerCore
import SchedulerStore

/// Two sites with a nursery, a group, a family and children each, made directly in a store.
public struct NurseryFixture: Sendable {
    public var almatyChildren: [Child] = []
    public var astanaChildren: [Child] = []
    public var almatyFamily: Family
    public var astanaFamily: Family

    public static let almatyGroup = "almaty-toddlers"
    public static let astanaGroup = "astana-toddlers"

    static func context() -> MutationContext { MutationContext(actor: nil, method: "test fixture") }

    public static func applied<T>(_ outcome: Mutated<T>) throws -> T {
        guard case .applied(let value, _) = outcome else { throw TestFailure("fixture change was a replay") }
        return value
    }

    /// Seeds both sites; each group has `capacity` places and `children` children ready to book.
    public static func seed(_ store: any Store, capacity: Int = 10, children: Int = 3) async throws -> NurseryFixture {
        var families: [String: Family] = [:]
        var made: [String: [Child]] = [:]
        for (site, zone) in [("almaty", "Asia/Almaty"), ("astana", "Asia/Almaty")] {
            _ = try await store.createSite(Site(id: site, name: site.capitalized, timeZone: zone), context: context()) { _ in [] }
            _ = try await store.createNursery(Nursery(id: "\(site)-1", siteID: site, name: "\(site.capitalized) nursery"), context: context()) { _ in [] }
            _ = try await store.createGroup(
                Group(id: "\(site)-toddlers", nurseryID: "\(site)-1", name: "Toddlers", minAgeMonths: 0, maxAgeMonths: 120, capacity: capacity),
                context: context()
            ) { _ in [] }
            let family = try applied(
                try await store.registerFamily(Family(id: "", siteID: site, kind: .local, parentsWorking: true), context: context()) { _ in [] })
            families[site] = family
            for index in 0..<children {
                let child = try applied(
                    try await store.registerChild(
                        Child(id: "", familyID: family.id, givenName: "\(site.capitalized) child \(index)", birthDate: CivilDate(parsing: "2024-03-15")!),
                        context: context()
                    ) { _ in [] })
                made[site, default: []].append(child)
            }
        }
        var fixture = NurseryFixture(almatyFamily: families["almaty"]!, astanaFamily: families["astana"]!)
        fixture.almatyChildren = made["almaty"] ?? []
        fixture.astanaChildren = made["astana"] ?? []
        return fixture
    }

    /// One more child of the Almaty family.
    public func newAlmatyChild(_ store: any Store, name: String = "extra") async throws -> Child {
        try Self.applied(
            try await store.registerChild(
                Child(id: "", familyID: almatyFamily.id, givenName: name, birthDate: CivilDate(parsing: "2024-03-15")!),
                context: Self.context()
            ) { _ in [] })
    }

    /// A placement made directly in the store.
    public func place(_ store: any Store, child: Child, group: String = almatyGroup, first: String, last: String? = nil, pattern: String = "mon-fri:full")
        async throws -> Placement
    {
        try Self.applied(
            try await store.bookPlace(
                BookingInput(
                    childID: child.id, groupID: group, first: CivilDate(parsing: first)!, last: last.flatMap { CivilDate(parsing: $0) },
                    pattern: try WeeklyPattern(parsing: pattern)),
                context: Self.context(), authorize: { _ in }, reply: { _ in [] }))
    }
}
