import Foundation
import SchedulerCore
import Testing

/// `IntakeDecider` against domain.md's intake rounds: offers are checked against free capacity
/// and the group's reserves over the term; an application ranks offers of its round, best first;
/// a run's result is stored only for the inputs it ran on; and the store's own rules (dates,
/// deadline, site, ages, events in order).
struct IntakeDeciderTests {
    let f = DeciderFixture()
    let site = Site(id: "almaty", name: "Almaty", timeZone: "Asia/Almaty")

    /// Term 2030-09-02 to 2031-06-30; applications close 2030-08-16T00:00Z.
    var round: IntakeRoundInfo {
        IntakeRoundInfo(
            id: "r1", siteID: "almaty", name: "2030", first: DeciderFixture.day("2030-09-02"), last: DeciderFixture.day("2031-06-30"),
            deadline: 1_913_068_800_000, seed: 7)
    }

    func offer(_ id: String, places: Int = 1, pattern: String = "mon-fri:full", reservedSOS: Int = 0, reservedLocal: Int = 0) -> IntakeOffer {
        IntakeOffer(
            id: id, groupID: f.group.id, nurseryID: "", pattern: DeciderFixture.pattern(pattern), places: places, reservedSOS: reservedSOS,
            reservedLocal: reservedLocal)
    }

    // MARK: Rounds

    @Test func aNewRoundIsOpenAtVersionZeroOnceItsSiteAndDatesAreRight() throws {
        var asked = round
        asked.state = .allocated
        asked.inputsVersion = 9
        let (created, records) = try IntakeDecider.newRound(asked, site: site, exists: false, now: f.now)
        #expect(created.state == .open && created.inputsVersion == 0)
        #expect(records == ["intake_round:r1"])
        #expect(schedulerError { try IntakeDecider.newRound(asked, site: nil, exists: false, now: f.now) }?.code == .notFound)
        #expect(schedulerError { try IntakeDecider.newRound(asked, site: site, exists: true, now: f.now) }?.code == .alreadyExists)
        // A term that has ended, one over three years, a deadline on or after the term's first day.
        var ended = round
        ended.last = DeciderFixture.day("2030-07-31")
        ended.first = DeciderFixture.day("2030-07-01")
        #expect(schedulerError { try IntakeDecider.newRound(ended, site: site, exists: false, now: f.now) }?.field == "round.term_last")
        var long = round
        long.last = DeciderFixture.day("2033-09-30")
        #expect(schedulerError { try IntakeDecider.newRound(long, site: site, exists: false, now: f.now) }?.field == "round.term_last")
        var late = round
        late.deadline = 1_914_523_200_000  // 2030-09-01T20:00Z: 2030-09-02 in Almaty, the term's first day
        #expect(schedulerError { try IntakeDecider.newRound(late, site: site, exists: false, now: f.now) }?.field == "round.deadline_ms")
        late.deadline -= 2 * 3_600_000  // 18:00Z: 23:00 on 2030-09-01 in Almaty
        #expect(schedulerError { try IntakeDecider.newRound(late, site: site, exists: false, now: f.now) } == nil)
    }

    @Test func applicationsChangeOnlyInAnOpenRoundUntilTheDeadline() throws {
        let atDeadline = Date(timeIntervalSince1970: 1_913_068_800)
        #expect(try IntakeDecider.withdrawal(round: round, roundID: "r1", childID: "c", now: atDeadline) == ["intake_round:r1", "child:c"])
        let after = schedulerError { try IntakeDecider.withdrawal(round: round, roundID: "r1", childID: "c", now: atDeadline.addingTimeInterval(0.001)) }
        #expect(after?.code == .failedPrecondition)
        var ran = round
        ran.state = .allocated
        #expect(schedulerError { try IntakeDecider.withdrawal(round: ran, roundID: "r1", childID: "c", now: f.now) }?.code == .failedPrecondition)
        #expect(schedulerError { try IntakeDecider.withdrawal(round: nil, roundID: "r1", childID: "c", now: f.now) }?.code == .notFound)
        #expect(IntakeDecider.noApplication(childID: "c", roundID: "r1").code == .notFound)
        #expect(try IntakeDecider.allocatedRound(ran, "r1") == ran)
        #expect(schedulerError { try IntakeDecider.allocatedRound(round, "r1") }?.code == .failedPrecondition)
    }

    // MARK: Offers

    @Test func anOfferNeedsAnOpenRoundAGroupAtItsSiteANewIdAndRoom() throws {
        let target = try IntakeDecider.offerTarget(
            offer("o1"), round: round, roundID: "r1", group: f.group, nursery: f.nursery, offerExists: false, offersInRound: 3)
        #expect(target.offer.nurseryID == "almaty-1")
        func error(round: IntakeRoundInfo? = nil, group: Group?? = nil, nursery: Nursery? = nil, exists: Bool = false, count: Int = 0) -> SchedulerError? {
            schedulerError {
                try IntakeDecider.offerTarget(
                    offer("o1"), round: round ?? self.round, roundID: "r1", group: group ?? f.group, nursery: nursery ?? f.nursery, offerExists: exists,
                    offersInRound: count)
            }
        }
        var ran = round
        ran.state = .allocated
        #expect(error(round: ran)?.field == "round_id")
        #expect(error(group: .some(nil))?.code == .notFound)
        var astana = f.nursery
        astana.siteID = "astana"
        #expect(error(nursery: astana)?.code == .failedPrecondition)
        #expect(error(exists: true)?.code == .alreadyExists)
        #expect(error(count: IntakeDecider.maxOffersPerRound)?.field == "offer.round_id")
        #expect(error(count: IntakeDecider.maxOffersPerRound - 1) == nil)
    }

    /// "Opening an offer is checked against free capacity and the group's reserves over the term".
    @Test func anOfferMustFitTheGroupsFreePlacesOverTheTerm() throws {
        // Two places; one held on Mondays from 2031-03-03, inside the term.
        let ledger = f.ledger([f.placement("p1", kind: .sos, first: "2031-03-03", pattern: "mon:am")])
        #expect(
            try IntakeDecider.checkOfferFits(offer("o1"), round: round, nursery: f.nursery, ledger: ledger, others: []) == [
                "intake_offer:o1", "intake_round:r1",
            ])
        let full = schedulerError { try IntakeDecider.checkOfferFits(offer("o1", places: 2), round: round, nursery: f.nursery, ledger: ledger, others: []) }
        #expect(full?.field == "offer.places")
        #expect(full?.message.contains("2031-03-03") == true, "\(String(describing: full))")
        // Another open round's offer on the group takes the other place.
        let other = (offer: offer("o0"), first: round.first, last: round.last)
        #expect(schedulerError { try IntakeDecider.checkOfferFits(offer("o1"), round: round, nursery: f.nursery, ledger: ledger, others: [other]) } != nil)
        // Reserves: with a place kept for SOS families, two places that local children may fill do not fit.
        var reserved = f
        reserved.group.reservedSOS = 1
        let reservedError = schedulerError {
            try IntakeDecider.checkOfferFits(offer("o1", places: 2), round: round, nursery: f.nursery, ledger: reserved.ledger(), others: [])
        }
        #expect(reservedError?.message.contains("reserved for the other kind") == true, "\(String(describing: reservedError))")
        #expect(
            schedulerError {
                try IntakeDecider.checkOfferFits(
                    offer("o1", places: 2, reservedSOS: 1), round: round, nursery: f.nursery, ledger: reserved.ledger(), others: [])
            } == nil)
        // Saturdays are closed.
        #expect(
            schedulerError {
                try IntakeDecider.checkOfferFits(offer("o1", pattern: "sat:am"), round: round, nursery: f.nursery, ledger: f.ledger(), others: [])
            }?
            .field == "offer.pattern")
    }

    // MARK: Applications

    func applicants(_ children: [(Child, Family)]) -> [String: (child: Child, family: Family)] {
        Dictionary(uniqueKeysWithValues: children.map { ($0.0.id, (child: $0.0, family: $0.1)) })
    }

    @Test func applicationsRankOffersOfTheRoundAndTheLastRankingCounts() throws {
        let offers = [offer("o1"), offer("o2")]
        let a = f.child("a", of: f.sos), b = f.child("b", of: f.local)
        let decided = try IntakeDecider.applications(
            [
                ApplicationInput(childID: "a", ranking: ["o1", "o2"]), ApplicationInput(childID: "b", ranking: ["o2"]),
                ApplicationInput(childID: "a", ranking: ["o2"]),
            ],
            round: round, roundID: "r1", now: f.now, offers: offers, groups: [f.group.id: f.group], applicants: applicants([(a, f.sos), (b, f.local)]))
        #expect(decided.families == [f.sos, f.local, f.sos])
        #expect(decided.rows.map(\.childID) == ["a", "b"])
        #expect(decided.rows.map(\.ranking) == [["o2"], ["o2"]])
        #expect(decided.records == ["intake_round:r1", "child:a", "child:b", "child:a"])
        func error(_ input: ApplicationInput, family: Family? = nil, now: Date? = nil) -> SchedulerError? {
            schedulerError {
                try IntakeDecider.applications(
                    [ApplicationInput(childID: "a", ranking: ["o1"]), input], round: round, roundID: "r1", now: now ?? f.now, offers: offers,
                    groups: [f.group.id: f.group], applicants: applicants([(a, f.sos), (f.child("b", of: family ?? f.local), family ?? f.local)]))
            }
        }
        #expect(error(ApplicationInput(childID: "b", ranking: []))?.field == "applications[1].ranking")
        #expect(error(ApplicationInput(childID: "b", ranking: ["o1", "o1"]))?.field == "applications[1].ranking")
        #expect(error(ApplicationInput(childID: "b", ranking: ["o9"]))?.code == .invalidArgument)
        #expect(error(ApplicationInput(childID: "z", ranking: ["o1"]))?.field == "applications[1].child_id")
        var astana = f.local
        astana.siteID = "astana"
        let elsewhere = error(ApplicationInput(childID: "b", ranking: ["o1"]), family: astana)
        #expect(elsewhere?.code == .notFound)
        #expect(elsewhere?.message == "no child with id b at site almaty")
        #expect(error(ApplicationInput(childID: "b", ranking: ["o1"]), now: Date(timeIntervalSince1970: 1_913_068_801))?.code == .failedPrecondition)
        #expect(error(ApplicationInput(childID: "b", ranking: ["o1"])) == nil)
    }

    /// The age rule, at the term's first day, for every ranked offer's group.
    @Test func everyRankedGroupMustTakeTheChildAtTheTermsStart() throws {
        // Born 2029-09-10: 11 months on 2030-09-02, too young for 12 to 36 months.
        let young = f.child("y", of: f.sos, born: "2029-09-10")
        var babies = f.group
        babies.id = "babies"
        babies.minAgeMonths = 0
        babies.maxAgeMonths = 12
        var babyOffer = offer("o2")
        babyOffer.groupID = "babies"
        let groups = [f.group.id: f.group, "babies": babies]
        let error = schedulerError {
            try IntakeDecider.applications(
                [ApplicationInput(childID: "y", ranking: ["o2", "o1"])], round: round, roundID: "r1", now: f.now, offers: [offer("o1"), babyOffer],
                groups: groups, applicants: applicants([(young, f.sos)]))
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("11 months") == true, "\(String(describing: error))")
        #expect(
            schedulerError {
                try IntakeDecider.applications(
                    [ApplicationInput(childID: "y", ranking: ["o2"])], round: round, roundID: "r1", now: f.now, offers: [offer("o1"), babyOffer],
                    groups: groups, applicants: applicants([(young, f.sos)]))
            } == nil)
    }

    // MARK: The run and after

    @Test func aRunIsStoredOnlyForTheInputsItRanOn() throws {
        var open = round
        open.inputsVersion = 4
        let facts = PriorityFacts(
            familyKind: .sos, siblingNurseries: [], specialNeeds: false, singleParent: false, parentsWorking: false, submissionRank: 0, lotteryPosition: 0)
        let children = [
            IntakeRunChild(childID: "a", facts: facts, ranking: ["o1"], seat: IntakeResult.Seat(offerID: "o1", kind: .open, choice: 0)),
            IntakeRunChild(childID: "b", facts: facts, ranking: ["o1"], seat: nil),
        ]
        let (placed, records) = try IntakeDecider.recordedRun(round: open, roundID: "r1", inputsVersion: 4, children: children, closedEarly: true)
        #expect(placed == 1)
        #expect(records == ["intake_round:r1", "intake_round_closed_early:r1"])
        #expect(
            try IntakeDecider.recordedRun(round: open, roundID: "r1", inputsVersion: 4, children: children, closedEarly: false).records == ["intake_round:r1"])
        #expect(
            schedulerError { try IntakeDecider.recordedRun(round: open, roundID: "r1", inputsVersion: 3, children: children, closedEarly: false) }?.code
                == .aborted)
    }

    @Test func eventsAreStampedInTheLogsOrderAndCheckedBeforeTheyAreStored() throws {
        var ran = round
        ran.state = .allocated
        let stored = [IntakeEventRecord(event: .release(child: "a"), at: 5_000)]
        let new = [
            IntakeEventRecord(event: .respond(child: "b", offer: "o1", accept: true), at: 4_000), IntakeEventRecord(event: .release(child: "c"), at: 6_000),
        ]
        let (events, records) = try IntakeDecider.appended(new, round: ran, roundID: "r1", stored: stored) { old, added in
            #expect(old == stored)
            #expect(added.map(\.at) == [5_000, 6_000])
        }
        #expect(events.map(\.at) == [5_000, 6_000])
        #expect(records == ["intake_round:r1", "child:b", "child:c"])
        #expect(throws: SchedulerError.self) {
            try IntakeDecider.appended(new, round: ran, roundID: "r1", stored: stored) { _, _ in throw SchedulerError(.failedPrecondition, "no") }
        }
        #expect(throws: SchedulerError.self) { try IntakeDecider.appended(new, round: round, roundID: "r1", stored: stored) { _, _ in } }
    }

    @Test func confirmationsThatDoNotReplayAreLeftOutAndTheRestGoOn() throws {
        var ran = round
        ran.state = .allocated
        func confirmation(_ child: String) -> IntakeConfirmation {
            IntakeConfirmation(childID: child, offerID: "o1", booking: f.booking(f.child(child, of: f.sos), first: "2030-09-02"))
        }
        let all = [confirmation("a"), confirmation("b"), confirmation("c")]
        // The replay refuses b (it no longer holds the place).
        let check: ([IntakeEventRecord], [IntakeEventRecord]) throws -> Void = { _, new in
            if new.contains(where: { $0.childID == "b" }) { throw SchedulerError(.failedPrecondition, "b no longer holds the place") }
        }
        let (accepted, refused) = try IntakeDecider.replayable(all, round: ran, roundID: "r1", at: 9_000, stored: [], check: check)
        #expect(accepted.map(\.childID) == ["a", "c"])
        #expect(refused == [IntakeConfirmed.Refused(childID: "b", reason: "b no longer holds the place")])
        // Any other error fails them all.
        #expect(throws: SchedulerError.self) {
            try IntakeDecider.replayable(all, round: ran, roundID: "r1", at: 9_000, stored: []) { _, _ in throw SchedulerError(.unavailable, "down") }
        }
        // c's booking was refused: the events are of a alone, checked again, stamped after the stored ones.
        let stored = [IntakeEventRecord(event: .release(child: "z"), at: 10_000)]
        let (events, records) = try IntakeDecider.confirmed(
            booked: [accepted[0]], accepted: accepted, roundID: "r1", at: 9_000, stored: stored, bookingRecords: ["placement:p1"], check: check)
        #expect(events == [IntakeEventRecord(event: .confirm(child: "a", offer: "o1"), at: 10_000)])
        #expect(records == ["intake_round:r1", "placement:p1", "child:a"])
        #expect(IntakeDecider.bookingRefusal(SchedulerError(.failedPrecondition, "clash")) == "clash")
        #expect(IntakeDecider.bookingRefusal(SchedulerError(.unavailable, "down")) == nil)
        #expect(IntakeDecider.bookingRefusal(BookingRefused(groupID: "g", conflicts: [], alternatives: [])) == "the group has no room any more: full")
    }
}
