import SchedulerCore
import SchedulerTesting
import Testing

struct IntakeWaitlistTests {
    func offer(_ id: String, open: Int = 1, sos: Int = 0, local: Int = 0) -> IntakeOffer {
        IntakeOffer(id: id, groupID: "g\(id)", nurseryID: "n", pattern: WeeklyPattern(bits: 0x3ff), places: open + sos + local, reservedSOS: sos, reservedLocal: local)
    }

    /// a > b > c > d by submission. a holds X; b holds Y and waits for X; c holds Z and waits for
    /// Y; d has nothing and waits for Z.
    func chain() throws -> IntakeWaitlist {
        let applications = [
            IntakeApplication(childID: "a", familyKind: .local, submittedAt: 1, ranking: ["X"]),
            IntakeApplication(childID: "b", familyKind: .local, submittedAt: 2, ranking: ["X", "Y"]),
            IntakeApplication(childID: "c", familyKind: .local, submittedAt: 3, ranking: ["Y", "Z"]),
            IntakeApplication(childID: "d", familyKind: .local, submittedAt: 4, ranking: ["Z"]),
        ]
        let allocator = try IntakeAllocator(offers: [offer("X"), offer("Y"), offer("Z")], applications: applications, seed: 1)
        let result = allocator.run()
        #expect(result.seat(of: "a")?.offerID == "X" && result.seat(of: "b")?.offerID == "Y" && result.seat(of: "c")?.offerID == "Z")
        #expect(result.seat(of: "d") == nil)
        return IntakeWaitlist(allocator: allocator, result: result, responseWindow: 100)
    }

    @Test func anAcceptanceCascadesDownTheChain() throws {
        var waitlist = try chain()
        try waitlist.release(child: "a", now: 0)
        #expect(waitlist.pending(of: "b") == [IntakeWaitlist.Pending(childID: "b", offerID: "X", seat: .open, deadline: 100)])
        try waitlist.respond(child: "b", offer: "X", accept: true, now: 10)
        #expect(waitlist.seats["b"]?.offerID == "X")
        #expect(waitlist.pending(of: "c").first?.offerID == "Y")
        #expect(waitlist.pending(of: "c").first?.deadline == 110)
        try waitlist.respond(child: "c", offer: "Y", accept: true, now: 20)
        #expect(waitlist.pending(of: "d").first?.offerID == "Z")
        // d does not answer: at the deadline the offer lapses and, no one else waiting, Z's seat stays free.
        waitlist.expire(now: 119)
        #expect(!waitlist.pending(of: "d").isEmpty)
        waitlist.expire(now: 120)
        #expect(waitlist.pending.isEmpty)
        #expect(waitlist.free["Z"]?[.open] == 1)
        #expect(waitlist.moves == [
            .released(child: "a", offer: "X", seat: .open),
            .offered(child: "b", offer: "X", seat: .open, deadline: 100),
            .accepted(child: "b", offer: "X"),
            .released(child: "b", offer: "Y", seat: .open),
            .offered(child: "c", offer: "Y", seat: .open, deadline: 110),
            .accepted(child: "c", offer: "Y"),
            .released(child: "c", offer: "Z", seat: .open),
            .offered(child: "d", offer: "Z", seat: .open, deadline: 120),
            .expired(child: "d", offer: "Z"),
            .leftFree(offer: "Z", seat: .open),
        ])
        // A late answer is refused.
        #expect(throws: SchedulerError.self) { try waitlist.respond(child: "d", offer: "Z", accept: true, now: 130) }
    }

    @Test func aDeclineMovesTheSeatOnAndKeepsTheChildsOwnSeat() throws {
        var waitlist = try chain()
        try waitlist.release(child: "a", now: 0)
        try waitlist.respond(child: "b", offer: "X", accept: false, now: 5)
        #expect(waitlist.seats["b"]?.offerID == "Y")
        #expect(waitlist.position(of: "b", on: "X") == nil)
        #expect(waitlist.free["X"]?[.open] == 1)
        #expect(waitlist.moves.last == .leftFree(offer: "X", seat: .open))
    }

    @Test func aConfirmedChildCannotTakeAnotherSeatAndItsOfferMovesOn() throws {
        var waitlist = try chain()
        try waitlist.release(child: "a", now: 0)  // X offered to b, who holds Y
        try waitlist.confirm(child: "b", offer: "Y", now: 5)
        // b's unanswered offer of X is declined for them and moves on: no one else waits for X.
        #expect(waitlist.pending(of: "b").isEmpty)
        #expect(waitlist.free["X"]?[.open] == 1)
        #expect(throws: SchedulerError.self) { try waitlist.respond(child: "b", offer: "X", accept: true, now: 6) }
        #expect(throws: SchedulerError.self) { try waitlist.release(child: "b", now: 7) }
        #expect(throws: SchedulerError.self) { try waitlist.confirm(child: "c", offer: "Y", now: 8) }
    }

    /// w waits for P (first choice) and Q (second). Q frees first and is offered to w; then P
    /// frees: it goes to w too, the best child waiting for it, though w has not answered for Q.
    @Test func aChildWithAnOpenOfferIsStillOfferedASeatTheyRankHigher() throws {
        let applications = [
            IntakeApplication(childID: "p", familyKind: .local, submittedAt: 1, ranking: ["P"]),
            IntakeApplication(childID: "q", familyKind: .local, submittedAt: 2, ranking: ["Q"]),
            IntakeApplication(childID: "w", familyKind: .local, submittedAt: 3, ranking: ["P", "Q"]),
        ]
        let allocator = try IntakeAllocator(offers: [offer("P"), offer("Q")], applications: applications, seed: 1)
        var waitlist = IntakeWaitlist(allocator: allocator, result: allocator.run(), responseWindow: 100)
        try waitlist.release(child: "q", now: 0)
        try waitlist.release(child: "p", now: 1)
        #expect(Set(waitlist.pending(of: "w").map(\.offerID)) == ["P", "Q"])
        // Taking P (ranked higher) declines Q, which stays free: no one else waits for it.
        try waitlist.respond(child: "w", offer: "P", accept: true, now: 2)
        #expect(waitlist.seats["w"]?.offerID == "P")
        #expect(waitlist.pending.isEmpty)
        #expect(waitlist.free["Q"]?[.open] == 1)
    }

    @Test func aReservedSeatGoesToTheFirstChildWhoMayHoldIt() throws {
        let applications = [
            IntakeApplication(childID: "holder", familyKind: .sos, submittedAt: 1, ranking: ["X"]),
            IntakeApplication(childID: "local", familyKind: .local, submittedAt: 2, ranking: ["X"]),
            IntakeApplication(childID: "sos", familyKind: .sos, submittedAt: 3, ranking: ["X"]),
        ]
        let allocator = try IntakeAllocator(offers: [offer("X", open: 0, sos: 1)], applications: applications, seed: 1)
        let result = allocator.run()
        #expect(result.waitlist(of: "X") == ["local", "sos"])
        var waitlist = IntakeWaitlist(allocator: allocator, result: result, responseWindow: 50)
        try waitlist.release(child: "holder", now: 0)
        #expect(waitlist.pending(of: "sos").first?.seat == .reservedSOS)
        #expect(waitlist.pending(of: "local").isEmpty)
    }

    /// Random rounds and random events: seats are conserved, no child holds two, and everyone
    /// offered a seat was waiting for it and may hold it.
    @Test(arguments: 0..<10)
    func seatsAreConservedThroughRandomEvents(batch: Int) throws {
        var random = SeededRandom(seed: UInt64(700 + batch))
        for _ in 0..<40 {
            let (offers, applications) = randomRound(&random)
            let allocator = try IntakeAllocator(offers: offers, applications: applications, seed: random.next())
            var waitlist = IntakeWaitlist(allocator: allocator, result: allocator.run(), responseWindow: 10)
            let kinds = Dictionary(uniqueKeysWithValues: applications.map { ($0.childID, $0.familyKind) })
            var now: Int64 = 0
            for _ in 0..<30 {
                now += Int64.random(in: 0...6, using: &random)
                let before = waitlist.waitlists
                let movesBefore = waitlist.moves.count
                switch Int.random(in: 0..<5, using: &random) {
                case 0:
                    if let child = waitlist.seats.keys.filter({ !waitlist.confirmed.contains($0) }).sorted().randomElement(using: &random) {
                        try waitlist.release(child: child, now: now)
                    }
                case 1, 2:
                    if let offered = waitlist.pending.randomElement(using: &random), offered.deadline > now {
                        try waitlist.respond(child: offered.childID, offer: offered.offerID, accept: Bool.random(using: &random), now: now)
                    }
                case 3:
                    if let child = waitlist.seats.keys.sorted().randomElement(using: &random), !waitlist.confirmed.contains(child), let seat = waitlist.seats[child] {
                        try waitlist.confirm(child: child, offer: seat.offerID, now: now)
                    }
                default:
                    waitlist.expire(now: now)
                }
                for move in waitlist.moves[movesBefore...] {
                    guard case .offered(let child, let offerID, let seat, _) = move else { continue }
                    #expect(before[offerID]?.contains(child) == true, "\(child) was offered \(offerID) without waiting for it")
                    #expect(seat == .open || (seat == .reservedSOS) == (kinds[child] == .sos), "\(child) was offered a seat reserved for others")
                }
                let lists = waitlist.waitlists
                for offer in offers {
                    // No seat stays free while a child waiting for it may take it and has not been offered one of it.
                    for (kind, count) in waitlist.free[offer.id] ?? [:] where count > 0 {
                        let eligible = (lists[offer.id] ?? []).first { child in
                            (kind == .open || (kind == .reservedSOS) == (kinds[child] == .sos))
                                && !waitlist.pending.contains { $0.childID == child && $0.offerID == offer.id }
                        }
                        #expect(eligible == nil, "\(offer.id) keeps a \(kind) seat free while \(eligible ?? "") waits for it")
                    }
                    // A confirmed child waits for nothing and has no offer left to answer.
                    for child in waitlist.confirmed {
                        #expect(!(lists[offer.id] ?? []).contains(child))
                        #expect(waitlist.pending(of: child).isEmpty)
                    }
                    let held = waitlist.seats.values.filter { $0.offerID == offer.id }.map(\.kind) + waitlist.pending.filter { $0.offerID == offer.id }.map(\.seat)
                    for (kind, places) in [(SeatKind.open, offer.openPlaces), (.reservedSOS, offer.reservedSOS), (.reservedLocal, offer.reservedLocal)] {
                        let used = held.filter { $0 == kind }.count + (waitlist.free[offer.id]?[kind] ?? 0)
                        #expect(used == places, "\(offer.id) \(kind): \(used) seats accounted for, \(places) exist")
                    }
                }
                // Everyone waits only for offers they rank above the seat they hold.
                let rankings = Dictionary(uniqueKeysWithValues: applications.map { ($0.childID, $0.ranking) })
                for (offerID, children) in waitlist.waitlists {
                    for child in children {
                        let rank = rankings[child]?.firstIndex(of: offerID) ?? Int.max
                        let held = waitlist.seats[child].flatMap { rankings[child]?.firstIndex(of: $0.offerID) } ?? Int.max
                        #expect(rank < held, "\(child) waits for \(offerID) but holds a seat they rank higher")
                    }
                }
            }
        }
    }
}

struct IntakeOfferFitTests {
    @Test func anOfferMustFitTheLedgerWhoeverTakesItsOpenSeats() throws {
        let nursery = Nursery(id: "n", siteID: "s", name: "N")
        let group = Group(id: "g", nurseryID: "n", name: "G", minAgeMonths: 0, maxAgeMonths: 120, capacity: 5, reservedLocal: 2)
        var ledger = CapacityLedger(group: group, nursery: nursery)
        let first = try #require(CivilDate(parsing: "2027-09-06")), last = try #require(CivilDate(parsing: "2028-05-26"))
        let full = try WeeklyPattern(parsing: "mon-fri:full")
        ledger.add(PlacementSpan(kind: .sos, first: first, last: last, pattern: full))
        func offer(_ id: String, open: Int, local: Int = 0) -> IntakeOffer {
            IntakeOffer(id: id, groupID: "g", nurseryID: "n", pattern: full, places: open + local, reservedLocal: local)
        }
        // Two open seats: even if both go to SOS children, 3 SOS children fit the 3 places local families do not hold.
        #expect(ledger.intakeViolation(for: [offer("a", open: 2)], first: first, last: last) == nil)
        // Three open seats could all go to SOS children: 4 would eat into the local reserve.
        let violation = try #require(ledger.intakeViolation(for: [offer("a", open: 3)], first: first, last: last))
        #expect(violation.reason == .reservedForOthers)
        #expect(violation.date >= first && violation.date <= last)
        // Offers of one round add up: two offers of two open seats do not fit, as one of four would not.
        #expect(ledger.intakeViolation(for: [offer("a", open: 2), offer("b", open: 2)], first: first, last: last) != nil)
        // Local seats use the local reserve: 2 open + 2 local fit (3 SOS at most, 5 in all).
        #expect(ledger.intakeViolation(for: [offer("a", open: 2, local: 2)], first: first, last: last) == nil)
        #expect(ledger.intakeViolation(for: [offer("a", open: 2, local: 3)], first: first, last: last)?.reason == .full)
        // Outside the term the group is empty: an offer after it is judged on its own dates.
        let later = try #require(CivilDate(parsing: "2028-09-04")), laterEnd = try #require(CivilDate(parsing: "2029-05-25"))
        #expect(ledger.intakeViolation(for: [offer("a", open: 3)], first: later, last: laterEnd) == nil)
    }
}

struct IntakeEventReplayTests {
    @Test func replayingTheEventsGivesTheSameStateAsLivingThem() throws {
        let live = try IntakeWaitlistTests().chain()
        var lived = live
        try lived.apply(.release(child: "a"), at: 0)
        try lived.apply(.respond(child: "b", offer: "X", accept: true), at: 10)
        lived.expire(now: 500)
        let replayed = try IntakeWaitlist.replay(
            allocator: live.startedFrom.allocator, result: live.startedFrom.result,
            events: [(.release(child: "a"), at: 0), (.respond(child: "b", offer: "X", accept: true), at: 10)], now: 500, responseWindow: 100)
        #expect(replayed.moves == lived.moves)
        #expect(replayed.seats == lived.seats)
        // c's offer of Y lapsed at 110: Y's seat went on (to no one) and c keeps Z.
        #expect(replayed.moves.contains(.expired(child: "c", offer: "Y")))
        #expect(replayed.seats["c"]?.offerID == "Z")
        // An event the state refuses is refused on replay too.
        #expect(throws: SchedulerError.self) {
            try IntakeWaitlist.replay(allocator: live.startedFrom.allocator, result: live.startedFrom.result, events: [(.respond(child: "d", offer: "Z", accept: true), at: 0)], now: 0)
        }
    }
}
