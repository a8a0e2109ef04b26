import Foundation
import SchedulerCore

/// A small nursery for the deciders' tests: site Almaty (UTC+5), one nursery open Monday to
/// Friday, a group of 12 to 36 months, an SOS and a local family with a child each.
struct DeciderFixture {
    var nursery = Nursery(id: "almaty-1", siteID: "almaty", name: "Almaty")
    var group = Group(id: "toddlers", nurseryID: "almaty-1", name: "Toddlers", minAgeMonths: 12, maxAgeMonths: 36, capacity: 2)
    var sos = Family(id: "fam_sos", siteID: "almaty", kind: .sos)
    var local = Family(id: "fam_local", siteID: "almaty", kind: .local)
    let timeZone = "Asia/Almaty"
    /// 2030-08-01 at noon UTC: 17:00 in Almaty.
    let now = Date(timeIntervalSince1970: 1_911_816_000)

    static func day(_ text: String) -> CivilDate {
        guard let day = CivilDate(parsing: text) else { preconditionFailure("not a date: \(text)") }
        return day
    }

    static func pattern(_ text: String) -> WeeklyPattern {
        (try? WeeklyPattern(parsing: text)) ?? WeeklyPattern(bits: 0)
    }

    func child(_ id: String, of family: Family, born: String = "2029-01-15") -> Child {
        Child(id: id, familyID: family.id, givenName: id, birthDate: Self.day(born))
    }

    func ledger(_ placements: [Placement] = []) -> CapacityLedger {
        var ledger = CapacityLedger(group: group, nursery: nursery)
        for placement in placements { ledger.add(placement.span) }
        return ledger
    }

    func placement(
        _ id: String, child: String = "other", kind: FamilyKind, first: String, last: String? = nil, pattern: String = "mon-fri:full",
        state: Placement.State = .active
    ) -> Placement {
        Placement(
            id: id, childID: child, groupID: group.id, kind: kind, first: Self.day(first), last: last.map(Self.day), pattern: Self.pattern(pattern),
            state: state, nurseryID: nursery.id)
    }

    func loaded(_ child: Child, _ family: Family, held: [Placement] = []) -> BookingDecider.Loaded {
        BookingDecider.Loaded(
            child: child, family: family, group: group, nursery: nursery, timeZone: timeZone, held: held, nurseries: [nursery.id: nursery])
    }

    func booking(_ child: Child, first: String, last: String? = nil, pattern: String = "mon-fri:full", pastDays: PastDays = .allowed) -> BookingInput {
        BookingInput(childID: child.id, groupID: group.id, first: Self.day(first), last: last.map(Self.day), pattern: Self.pattern(pattern), pastDays: pastDays)
    }
}

/// The SchedulerError `body` throws (nil if it throws none, or another error).
func schedulerError<T>(_ body: () throws -> T) -> SchedulerError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? SchedulerError
    }
}
