import Foundation
import SchedulerCore
import SchedulerWire

// Wire messages <-> core values for the nursery service. Every check names the request field.

enum Field {
    static func id(_ text: String, _ field: String) throws(SchedulerError) -> String {
        guard Scope.isValidID(text) else {
            throw SchedulerError(.invalidArgument, "\(field) must be 1-64 letters, digits, '-' or '_'", field: field)
        }
        return text
    }

    static func name(_ text: String, _ field: String, required: Bool = true) throws(SchedulerError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if required, trimmed.isEmpty { throw SchedulerError(.invalidArgument, "\(field) is required", field: field) }
        // Counted in bytes (UTF-8): what is stored and sent, whatever the script.
        guard trimmed.utf8.count <= 200 else { throw SchedulerError(.invalidArgument, "\(field) is longer than 200 bytes (UTF-8)", field: field) }
        return trimmed
    }

    static func date(_ text: String, _ field: String) throws(SchedulerError) -> CivilDate {
        guard let date = CivilDate(parsing: text) else {
            throw SchedulerError(.invalidArgument, "\(field) must be a date YYYY-MM-DD, not '\(text.prefix(40))'", field: field)
        }
        return date
    }

    static func optionalDate(_ text: String, _ field: String) throws(SchedulerError) -> CivilDate? {
        text.isEmpty ? nil : try date(text, field)
    }

    static func pattern(_ text: String, _ field: String = "pattern") throws(SchedulerError) -> WeeklyPattern {
        do {
            return try WeeklyPattern(parsing: text)
        } catch {
            throw SchedulerError(.invalidArgument, error.message, field: field)
        }
    }

    static func timeZone(_ text: String, _ field: String) throws(SchedulerError) -> String {
        guard CivilDate.isKnownTimeZone(text) else {
            throw SchedulerError(.invalidArgument, "\(field) must be an IANA zone such as Asia/Almaty", field: field)
        }
        return text
    }

    static func mask(_ paths: [String], allowed: Set<String>) throws(SchedulerError) -> Set<String> {
        guard !paths.isEmpty else {
            throw SchedulerError(.invalidArgument, "update_mask names no field; allowed: \(allowed.sorted().joined(separator: ", "))", field: "update_mask")
        }
        for path in paths where !allowed.contains(path) {
            throw SchedulerError(
                .invalidArgument, "update_mask names \(path); allowed: \(allowed.sorted().joined(separator: ", "))",
                field: "update_mask")
        }
        return Set(paths)
    }
}

extension ProtoFamilyKind {
    init(_ kind: FamilyKind) { self = kind == .sos ? .sos : .local }

    func core(_ field: String) throws(SchedulerError) -> FamilyKind {
        switch self {
        case .sos: return .sos
        case .local: return .local
        case .unspecified: throw SchedulerError(.invalidArgument, "\(field) is required: SOS or LOCAL", field: field)
        }
    }
}

extension ProtoSession {
    init(_ session: Session) { self = session == .morning ? .morning : .afternoon }
}

extension SiteMessage {
    init(_ site: Site) { self.init(id: site.id, name: site.name, timeZone: site.timeZone) }

    func core() throws(SchedulerError) -> Site {
        Site(
            id: try Field.id(id, "site.id"), name: try Field.name(name, "site.name"),
            timeZone: try Field.timeZone(timeZone, "site.time_zone"))
    }
}

extension NurseryMessage {
    init(_ nursery: Nursery) {
        self.init(
            id: nursery.id, siteID: nursery.siteID, name: nursery.name,
            openWeekdays: nursery.openWeekdays.sorted().compactMap { ProtoWeekday(rawValue: Int32($0.rawValue)) },
            closures: nursery.closures.sorted().map(\.description), morning: nursery.morning.description,
            afternoon: nursery.afternoon.description)
    }

    func weekdays() throws(SchedulerError) -> Set<Weekday> {
        var days: Set<Weekday> = []
        for (index, day) in openWeekdays.enumerated() {
            guard let weekday = Weekday(rawValue: Int(day.rawValue)) else {
                throw SchedulerError(.invalidArgument, "open_weekdays[\(index)] is unspecified", field: "nursery.open_weekdays[\(index)]")
            }
            days.insert(weekday)
        }
        return days
    }

    func closureDates() throws(SchedulerError) -> Set<CivilDate> {
        guard closures.count <= 3660 else {
            throw SchedulerError(.invalidArgument, "at most 3660 closure dates", field: "nursery.closures")
        }
        var dates: Set<CivilDate> = []
        for (index, text) in closures.enumerated() { dates.insert(try Field.date(text, "nursery.closures[\(index)]")) }
        return dates
    }

    static func times(_ text: String, _ field: String, _ fallback: SessionTimes) throws(SchedulerError) -> SessionTimes {
        if text.isEmpty { return fallback }
        guard let times = SessionTimes(parsing: text) else {
            throw SchedulerError(.invalidArgument, "\(field) must look like 08:00-13:00", field: field)
        }
        return times
    }

    func core() throws(SchedulerError) -> Nursery {
        let days = try weekdays()
        return Nursery(
            id: try Field.id(id, "nursery.id"), siteID: try Field.id(siteID, "nursery.site_id"),
            name: try Field.name(name, "nursery.name"),
            openWeekdays: days.isEmpty ? Set(Weekday.allCases.prefix(5)) : days, closures: try closureDates(),
            morning: try Self.times(morning, "nursery.morning", .morning),
            afternoon: try Self.times(afternoon, "nursery.afternoon", .afternoon))
    }
}

extension GroupMessage {
    init(_ group: Group) {
        self.init(
            id: group.id, nurseryID: group.nurseryID, name: group.name, minAgeMonths: UInt32(group.minAgeMonths),
            maxAgeMonths: UInt32(group.maxAgeMonths), capacity: UInt32(group.capacity), reservedSOS: UInt32(group.reservedSOS),
            reservedLocal: UInt32(group.reservedLocal))
    }

    func core() throws(SchedulerError) -> Group {
        let group = Group(
            id: try Field.id(id, "group.id"), nurseryID: try Field.id(nurseryID, "group.nursery_id"),
            name: try Field.name(name, "group.name"), minAgeMonths: Int(minAgeMonths), maxAgeMonths: Int(maxAgeMonths),
            capacity: Int(capacity), reservedSOS: Int(reservedSOS), reservedLocal: Int(reservedLocal))
        do { try group.validate() } catch { throw SchedulerError(.invalidArgument, error.message, field: error.field.map { "group.\($0)" }) }
        return group
    }
}

extension FamilyMessage {
    init(_ family: Family) {
        self.init(
            id: family.id, siteID: family.siteID, kind: ProtoFamilyKind(family.kind), singleParent: family.singleParent,
            parentsWorking: family.parentsWorking, contactRef: family.contactRef)
    }

    func core() throws(SchedulerError) -> Family {
        Family(
            id: "", siteID: try Field.id(siteID, "family.site_id"), kind: try kind.core("family.kind"),
            singleParent: singleParent, parentsWorking: parentsWorking,
            contactRef: try Field.name(contactRef, "family.contact_ref", required: false))
    }
}

extension ChildMessage {
    init(_ child: Child) {
        self.init(
            id: child.id, familyID: child.familyID, givenName: child.givenName, birthDate: child.birthDate.description,
            specialNeeds: child.specialNeeds)
    }

    func core() throws(SchedulerError) -> Child {
        Child(
            id: "", familyID: try Field.id(familyID, "child.family_id"), givenName: try Field.name(givenName, "child.given_name"),
            birthDate: try Field.date(birthDate, "child.birth_date"), specialNeeds: specialNeeds)
    }
}

extension PlacementMessage {
    init(_ placement: Placement, nurseryID: String) {
        self.init(
            id: placement.id, childID: placement.childID, groupID: placement.groupID, nurseryID: nurseryID,
            familyKind: ProtoFamilyKind(placement.kind), firstDay: placement.first.description,
            lastDay: placement.last?.description ?? "", pattern: placement.pattern.description,
            state: placement.state == .active ? .active : .cancelled)
    }
}

extension BookingConflictMessage {
    init(_ refused: BookingRefused) {
        self.init(
            conflicts: refused.conflicts.map { conflict in
                SessionConflictMessage(
                    date: conflict.date.description, session: ProtoSession(conflict.session),
                    reason: conflict.reason == .full ? .full : .reservedForOthers, taken: UInt32(max(0, conflict.taken)),
                    capacity: UInt32(max(0, conflict.capacity)))
            },
            alternatives: refused.alternatives.map { alternative in
                let kind: BookingAlternativeMessage.Kind =
                    switch alternative.kind {
                    case .laterStart: .laterStart
                    case .otherGroup: .otherGroup
                    case .otherPattern: .otherPattern
                    }
                return BookingAlternativeMessage(
                    kind: kind, groupID: alternative.groupID, firstDay: alternative.first.description,
                    lastDay: alternative.last?.description ?? "", pattern: alternative.pattern.description)
            },
            conflictingSessions: UInt32(clamping: refused.tally.sessions), endlessFrom: refused.tally.endlessFrom?.description ?? "")
    }
}
