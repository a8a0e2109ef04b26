import SchedulerTesting
import Testing

@testable import SchedulerCore

struct StepTreeTests {
    @Test(arguments: 0..<40)
    func agreesWithAPlainArray(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        let size = 60
        var tree = StepTree()
        var deltas = Array(repeating: 0, count: size)
        func value(_ p: Int) -> Int { deltas[0...p].reduce(0, +) }
        for _ in 0..<200 {
            let key = Int.random(in: 0..<size, using: &random)
            let delta = Int.random(in: -2...3, using: &random)
            tree.add(delta, at: key)
            deltas[key] += delta
            let low = Int.random(in: 0..<size, using: &random)
            let high = Int.random(in: low..<size, using: &random)
            let values = (low...high).map(value)
            #expect(tree.value(at: high) == value(high))
            #expect(tree.maximum(low, high) == values.max())
            let threshold = Int.random(in: -3...8, using: &random)
            #expect(tree.first(atLeast: threshold, low, high) == values.firstIndex { $0 >= threshold }.map { $0 + low })
            #expect(tree.last(atLeast: threshold, low, high) == values.lastIndex { $0 >= threshold }.map { $0 + low })
        }
    }
}

/// The invariant, checked the slow and obvious way: every open day, every session, every placement.
struct IndependentChecker {
    let nursery: Nursery
    let group: Group

    func counts(_ placements: [Placement], _ date: CivilDate, _ session: Session) -> (sos: Int, local: Int) {
        var sos = 0, local = 0
        for p in placements where p.covers(date, session) {
            if p.kind == .sos { sos += 1 } else { local += 1 }
        }
        return (sos, local)
    }

    /// The open sessions where `placements` break the capacity rules.
    func violations(_ placements: [Placement], from start: CivilDate, through end: CivilDate) -> [(CivilDate, Session)] {
        var found: [(CivilDate, Session)] = []
        var day = start
        while day <= end {
            if nursery.isOpen(on: day) {
                for session in Session.allCases {
                    let (sos, local) = counts(placements, day, session)
                    if sos + local > group.capacity || sos > group.capacity - group.reservedLocal
                        || local > group.capacity - group.reservedSOS
                    {
                        found.append((day, session))
                    }
                }
            }
            day = day.adding(days: 1)
        }
        return found
    }
}

struct LedgerPropertyTests {
    static let start = CivilDate(parsing: "2026-01-01")!

    struct Instance {
        var nursery: Nursery
        var group: Group
        var sibling: Group
    }

    static func instance(_ random: inout SeededRandom) -> Instance {
        let weekdays: Set<Weekday> = Bool.random(using: &random) ? Set(Weekday.allCases.prefix(5)) : Set(Weekday.allCases.prefix(6))
        var closures: Set<CivilDate> = []
        for _ in 0..<Int.random(in: 0...12, using: &random) {
            closures.insert(start.adding(days: Int.random(in: 0..<500, using: &random)))
        }
        let nursery = Nursery(id: "n", siteID: "s", name: "N", openWeekdays: weekdays, closures: closures)
        let capacity = Int.random(in: 1...6, using: &random)
        let reservedSOS = Int.random(in: 0...capacity, using: &random)
        let reservedLocal = Int.random(in: 0...(capacity - reservedSOS), using: &random)
        let group = Group(
            id: "g", nurseryID: "n", name: "G", minAgeMonths: 0, maxAgeMonths: 240, capacity: capacity,
            reservedSOS: reservedSOS, reservedLocal: reservedLocal)
        let sibling = Group(
            id: "h", nurseryID: "n", name: "H", minAgeMonths: 0, maxAgeMonths: 240,
            capacity: Int.random(in: 0...4, using: &random))
        return Instance(nursery: nursery, group: group, sibling: sibling)
    }

    static func pattern(_ random: inout SeededRandom, open: Set<Weekday>) -> WeeklyPattern {
        let slots = Slot.all.filter { open.contains($0.weekday) }
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return WeeklyPattern(slots)  // full week
        case 1:
            let session: Session = Bool.random(using: &random) ? .morning : .afternoon
            return WeeklyPattern(slots.filter { $0.session == session })
        default:
            let chosen = slots.filter { _ in Bool.random(using: &random) }
            return chosen.isEmpty ? WeeklyPattern([slots[0]]) : WeeklyPattern(chosen)
        }
    }

    @Test(arguments: 0..<200)
    func bookEndAndCancelKeepTheInvariantAndRefuseOnlyWhatDoesNotFit(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed) &* 7919)
        let instance = Self.instance(&random)
        let nursery = instance.nursery, group = instance.group
        let checker = IndependentChecker(nursery: nursery, group: group)
        let siblingChecker = IndependentChecker(nursery: nursery, group: instance.sibling)
        var ledgers = [
            group.id: CapacityLedger(group: group, nursery: nursery),
            instance.sibling.id: CapacityLedger(group: instance.sibling, nursery: nursery),
        ]
        var placements: [Placement] = []
        var siblingPlacements: [Placement] = []
        let horizon = Self.start.adding(days: 540)
        let child = Child(id: "c", familyID: "f", givenName: "A", birthDate: CivilDate(parsing: "2024-01-01")!)

        for step in 0..<40 {
            let operation = Int.random(in: 0..<10, using: &random)
            if operation < 7 || placements.isEmpty {
                let kind: FamilyKind = Bool.random(using: &random) ? .sos : .local
                let first = Self.start.adding(days: Int.random(in: 0..<365, using: &random))
                let last: CivilDate? = Bool.random(using: &random) ? nil : first.adding(days: Int.random(in: 0..<150, using: &random))
                let request = BookingRequest(
                    child: child, family: Family(id: "f", siteID: "s", kind: kind), groupID: group.id, first: first,
                    last: last, pattern: Self.pattern(&random, open: nursery.openWeekdays))
                let candidate = Placement(id: "p\(step)", childID: "c", groupID: group.id, kind: kind, first: first, last: last, pattern: request.pattern)
                let decision: BookingDecision
                do {
                    decision = try BookingPlanner.decide(request, nursery: nursery, groups: [group, instance.sibling], ledgers: ledgers)
                } catch {
                    // Only a placement that covers no open session may be refused as invalid.
                    #expect(error.field == "last_day", "seed \(seed): \(error)")
                    continue
                }
                let wouldBreak = checker.violations(placements + [candidate], from: Self.start, through: horizon)
                switch decision {
                case .fits:
                    #expect(wouldBreak.isEmpty, "seed \(seed) step \(step): accepted a booking that overbooks \(wouldBreak.prefix(2))")
                    placements.append(candidate)
                    ledgers[group.id]?.add(candidate.span)
                case .full(let conflicts, let alternatives):
                    #expect(!wouldBreak.isEmpty, "seed \(seed) step \(step): refused a booking that fits")
                    // The first conflict named is the first session that would break.
                    if let firstBad = wouldBreak.first, let firstNamed = conflicts.first {
                        #expect(firstNamed.date == firstBad.0 && firstNamed.session == firstBad.1, "seed \(seed): first conflict")
                    }
                    for conflict in conflicts {
                        #expect(wouldBreak.contains { $0.0 == conflict.date && $0.1 == conflict.session })
                    }
                    for alternative in alternatives {
                        let offered = Placement(
                            id: "alt", childID: "c", groupID: alternative.groupID, kind: kind,
                            first: alternative.first, last: alternative.last, pattern: alternative.pattern)
                        if alternative.groupID == group.id {
                            #expect(alternative.first >= first)
                            #expect(
                                checker.violations(placements + [offered], from: Self.start, through: horizon).isEmpty,
                                "seed \(seed): alternative \(alternative) does not fit")
                        } else {
                            #expect(
                                siblingChecker.violations(siblingPlacements + [offered], from: Self.start, through: horizon).isEmpty,
                                "seed \(seed): alternative \(alternative) does not fit")
                            if Bool.random(using: &random) {
                                siblingPlacements.append(offered)
                                ledgers[instance.sibling.id]?.add(offered.span)
                            }
                        }
                    }
                }
            } else if operation < 9 {
                // End a placement early: it frees its sessions from a day on.
                let index = Int.random(in: 0..<placements.count, using: &random)
                var placement = placements[index]
                let end = placement.first.adding(days: Int.random(in: 1...200, using: &random))
                if let last = placement.last, end > last { continue }
                ledgers[group.id]?.remove(placement.span)
                placement.last = end.adding(days: -1)
                ledgers[group.id]?.add(placement.span)
                placements[index] = placement
            } else {
                let index = Int.random(in: 0..<placements.count, using: &random)
                ledgers[group.id]?.remove(placements[index].span)
                placements.remove(at: index)
            }
            #expect(checker.violations(placements, from: Self.start, through: horizon).isEmpty, "seed \(seed) step \(step)")
            // The ledger's occupancy agrees with a count of the placements.
            let probe = Self.start.adding(days: Int.random(in: 0..<500, using: &random))
            for session in Session.allCases {
                let counted = checker.counts(placements, probe, session)
                let occupancy = ledgers[group.id]?.occupancy(on: probe, session)
                #expect(occupancy?.sos == counted.sos && occupancy?.local == counted.local, "seed \(seed): occupancy")
            }
        }
    }

    @Test func aLedgerOfTenThousandPlacementsAnswersLikeTheChecker() throws {
        var random = SeededRandom(seed: 42)
        let nursery = Nursery(id: "n", siteID: "s", name: "N")
        let group = Group(id: "g", nurseryID: "n", name: "G", minAgeMonths: 0, maxAgeMonths: 240, capacity: 12_000)
        var ledger = CapacityLedger(group: group, nursery: nursery)
        var placements: [Placement] = []
        for index in 0..<10_000 {
            let first = Self.start.adding(days: Int.random(in: 0..<2000, using: &random))
            let last: CivilDate? = index % 3 == 0 ? nil : first.adding(days: Int.random(in: 0..<400, using: &random))
            let p = Placement(
                id: "\(index)", childID: "c", groupID: "g", kind: index % 2 == 0 ? .sos : .local,
                first: first, last: last, pattern: WeeklyPattern(bits: UInt16.random(in: 1...0x3ff, using: &random)))
            placements.append(p)
            ledger.add(p.span)
        }
        let checker = IndependentChecker(nursery: nursery, group: group)
        for _ in 0..<50 {
            let day = Self.start.adding(days: Int.random(in: 0..<2500, using: &random))
            for session in Session.allCases {
                let counted = checker.counts(placements, day, session)
                #expect(ledger.occupancy(on: day, session).taken == counted.sos + counted.local)
            }
        }
    }
}

struct BookingRuleTests {
    let nursery = Nursery(
        id: "almaty-1", siteID: "almaty", name: "Almaty", closures: [CivilDate(parsing: "2026-09-07")!])
    let toddlers = Group(id: "toddlers", nurseryID: "almaty-1", name: "Toddlers", minAgeMonths: 12, maxAgeMonths: 36, capacity: 1)
    let family = Family(id: "f", siteID: "almaty", kind: .local)

    func request(born: String, first: String, last: String? = nil, pattern: String = "mon-fri:full") throws -> BookingRequest {
        BookingRequest(
            child: Child(id: "c", familyID: "f", givenName: "A", birthDate: CivilDate(parsing: born)!), family: family,
            groupID: "toddlers", first: CivilDate(parsing: first)!, last: last.flatMap { CivilDate(parsing: $0) },
            pattern: try WeeklyPattern(parsing: pattern))
    }

    @Test func ageIsTakenOnTheFirstDay() throws {
        var ledgers = ["toddlers": CapacityLedger(group: toddlers, nursery: nursery)]
        // 12 months on 2026-09-01 exactly: in; 11 months: out; 36 months: out.
        #expect(try BookingPlanner.decide(request(born: "2025-09-01", first: "2026-09-01"), nursery: nursery, groups: [toddlers], ledgers: ledgers) == .fits)
        for born in ["2025-09-02", "2023-09-01"] {
            #expect {
                try BookingPlanner.decide(request(born: born, first: "2026-09-01"), nursery: nursery, groups: [toddlers], ledgers: ledgers)
            } throws: { error in
                (error as? SchedulerError)?.code == .failedPrecondition && (error as? SchedulerError)?.field == "group_id"
            }
        }
    }

    @Test func patternsMustFallOnOpeningDays() throws {
        var ledgers = ["toddlers": CapacityLedger(group: toddlers, nursery: nursery)]
        #expect {
            try BookingPlanner.decide(
                request(born: "2025-01-01", first: "2026-09-01", pattern: "sat:am"), nursery: nursery, groups: [toddlers], ledgers: ledgers)
        } throws: { error in
            (error as? SchedulerError)?.field == "pattern"
        }
    }

    @Test func closuresTakeNoPlaceAndNeedNone() throws {
        var ledger = CapacityLedger(group: toddlers, nursery: nursery)
        // One child every Monday from 2026-08-31 to 2026-09-07 (a closure).
        let monday = try request(born: "2025-01-01", first: "2026-08-31", last: "2026-09-07", pattern: "mon:am")
        ledger.add(monday.span)
        // A second child only on the closed Monday fits: nobody is there that day.
        let closedDay = try request(born: "2025-01-01", first: "2026-09-07", last: "2026-09-07", pattern: "mon:am")
        #expect(ledger.fits(closedDay.span))
        // But from 2026-08-31 it does not, and the conflict is the open Monday.
        let both = try request(born: "2025-01-01", first: "2026-08-31", last: "2026-09-14", pattern: "mon:am")
        #expect(ledger.conflicts(for: both.span).map(\.date) == [CivilDate(parsing: "2026-08-31")!])
    }

    @Test func aPlacementWithNoLastDayHoldsItsPlaceForever() throws {
        var ledgers = ["toddlers": CapacityLedger(group: toddlers, nursery: nursery)]
        let open = try request(born: "2025-01-01", first: "2026-09-01")
        #expect(try BookingPlanner.decide(open, nursery: nursery, groups: [toddlers], ledgers: ledgers) == .fits)
        ledgers["toddlers"]?.add(open.span)
        let yearsLater = try request(born: "2025-01-01", first: "2027-09-01", last: "2027-09-30")
        let years = try BookingPlanner.decide(yearsLater, nursery: nursery, groups: [toddlers], ledgers: ledgers)
        guard case .full(let conflicts, let alternatives) = years else {
            Issue.record("expected full")
            return
        }
        #expect(conflicts.first?.date == CivilDate(parsing: "2027-09-01"))
        #expect(alternatives.isEmpty)
    }

    @Test func refusalOffersALaterStartAndOtherGroups() throws {
        let babies = Group(id: "babies", nurseryID: "almaty-1", name: "Babies", minAgeMonths: 6, maxAgeMonths: 24, capacity: 2)
        var ledgers = [
            "toddlers": CapacityLedger(group: toddlers, nursery: nursery),
            "babies": CapacityLedger(group: babies, nursery: nursery),
        ]
        let until = try request(born: "2025-01-01", first: "2026-09-01", last: "2026-09-30")
        ledgers["toddlers"]?.add(until.span)
        let wanted = try request(born: "2025-01-01", first: "2026-09-14")
        guard case .full(let conflicts, let alternatives) = try BookingPlanner.decide(wanted, nursery: nursery, groups: [toddlers, babies], ledgers: ledgers)
        else {
            Issue.record("expected full")
            return
        }
        #expect(conflicts.first?.date == CivilDate(parsing: "2026-09-14"))
        #expect(conflicts.first?.reason == .full)
        #expect(
            alternatives.contains(
                Alternative(kind: .laterStart, groupID: "toddlers", first: CivilDate(parsing: "2026-10-01")!, last: nil, pattern: wanted.pattern)))
        #expect(alternatives.contains(Alternative(kind: .otherGroup, groupID: "babies", first: wanted.first, last: nil, pattern: wanted.pattern)))
    }

    @Test func reservedPlacesAreKeptForTheirFamilies() throws {
        let reserved = Group(id: "toddlers", nurseryID: "almaty-1", name: "T", minAgeMonths: 12, maxAgeMonths: 36, capacity: 2, reservedSOS: 1)
        var ledger = CapacityLedger(group: reserved, nursery: nursery)
        let local = try request(born: "2025-01-01", first: "2026-09-01")
        ledger.add(local.span)
        // A second local child would take the SOS place.
        #expect(ledger.conflicts(for: local.span).first?.reason == .reservedForOthers)
        var sos = local
        sos.family.kind = .sos
        #expect(ledger.fits(sos.span))
    }
}
