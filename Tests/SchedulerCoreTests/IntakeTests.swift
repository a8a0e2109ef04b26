import SchedulerCore
import SchedulerTesting
import Testing

/// The rule before reserves became counts, kept to show that the checker catches it: reserved
/// places as chairs, open places first (deferred acceptance, each offer re-choosing among its
/// holders and the new proposer).
func chairsAllocation(_ checker: IntakeChecker) -> [String: String] {
    var next: [String: Int] = [:]
    var held: [String: [String]] = [:]
    var free = checker.applications.keys.sorted()
    while let child = free.popLast() {
        guard let application = checker.applications[child], next[child, default: 0] < application.ranking.count else { continue }
        let offerID = application.ranking[next[child, default: 0]]
        next[child, default: 0] += 1
        guard let offer = checker.offers[offerID] else { continue }
        let proposers = (held[offerID] ?? []) + [child]
        let best = proposers.sorted { checker.ahead($0, $1, at: offer) }
        let open = Array(best.prefix(offer.openPlaces))
        let rest = best.dropFirst(offer.openPlaces)
        let sos = rest.filter { checker.applications[$0]?.familyKind == .sos }.prefix(offer.reservedSOS)
        let local = rest.filter { checker.applications[$0]?.familyKind == .local }.prefix(offer.reservedLocal)
        let kept = open + sos + local
        held[offerID] = kept
        free += proposers.filter { !kept.contains($0) }
    }
    var seats: [String: String] = [:]
    for (offer, children) in held { for child in children { seats[child] = offer } }
    return seats
}

/// A random round: few offers and places, so children compete and reserves bite.
func randomRound(_ random: inout SeededRandom, children: ClosedRange<Int> = 4...40, offers: ClosedRange<Int> = 1...7) -> ([IntakeOffer], [IntakeApplication]) {
    let offerCount = Int.random(in: offers, using: &random)
    let nurseries = ["n1", "n2", "n3"]
    let made = (0..<offerCount).map { index -> IntakeOffer in
        let places = Int.random(in: 1...5, using: &random)
        let sos = Int.random(in: 0...places, using: &random)
        let local = Int.random(in: 0...(places - sos), using: &random)
        return IntakeOffer(
            id: "o\(index)", groupID: "g\(index)", nurseryID: nurseries[index % nurseries.count], pattern: WeeklyPattern(bits: 0x3ff),
            places: places, reservedSOS: sos, reservedLocal: local)
    }
    let childCount = Int.random(in: children, using: &random)
    let applications = (0..<childCount).map { index -> IntakeApplication in
        let length = Int.random(in: 1...min(4, offerCount), using: &random)
        let ranking = Array(made.map(\.id).shuffled(using: &random).prefix(length))
        return IntakeApplication(
            childID: "c\(index)", familyKind: Bool.random(using: &random) ? .sos : .local,
            siblingNurseries: Int.random(in: 0..<4, using: &random) == 0 ? [nurseries.randomElement(using: &random) ?? "n1"] : [],
            specialNeeds: Int.random(in: 0..<6, using: &random) == 0, singleParent: Int.random(in: 0..<4, using: &random) == 0,
            parentsWorking: Bool.random(using: &random), submittedAt: Int64.random(in: 0..<20, using: &random), ranking: ranking)
    }
    return (made, applications)
}

struct IntakeAllocationTests {
    /// 3,000 random rounds (30 batches of 100), each checked by the independent checker.
    @Test(arguments: 0..<30)
    func everyResultIsFeasibleEnvyFreeAndNotWasteful(batch: Int) throws {
        var random = SeededRandom(seed: UInt64(1000 + batch))
        for round in 0..<100 {
            let (offers, applications) = randomRound(&random)
            var order = PriorityCriterion.defaultOrder
            // Some rounds reorder or drop criteria, as a site may.
            if round % 3 == 1 {
                // Reordered, with the lottery (which breaks every tie) still last.
                order.shuffle(using: &random)
                if order.contains(.lottery) { order = order.filter { $0 != .lottery } + [.lottery] }
            }
            if round % 5 == 2 { order.removeAll { _ in Int.random(in: 0..<3, using: &random) == 0 } }
            let seed = random.next()
            let allocator = try IntakeAllocator(offers: offers, applications: applications, order: order, seed: seed)
            let result = allocator.run()
            let problems = IntakeChecker(offers: offers, applications: applications, order: order, seed: seed).problems(result)
            #expect(problems.isEmpty, "batch \(batch) round \(round): \(problems.prefix(3))")
            if !problems.isEmpty { return }
        }
    }

    /// The checker has teeth: on random rounds it finds the old rule's waste and envy, and a
    /// planted mistake (one holder moved to an offer below their result) in every round.
    @Test func theCheckerCatchesTheChairsRuleAndPlantedMistakes() throws {
        var random = SeededRandom(seed: 4242)
        var chairsCaught = 0, planted = 0, caught = 0
        for _ in 0..<200 {
            let (offers, applications) = randomRound(&random)
            let seed = random.next()
            let checker = IntakeChecker(offers: offers, applications: applications, order: PriorityCriterion.defaultOrder, seed: seed)
            let chairs = chairsAllocation(checker)
            // Judge the chairs rule's assignment, with the waitlists it implies.
            let waitlist: (String) -> [String] = { id in
                applications.filter { application in
                    let held = chairs[application.childID].flatMap { application.ranking.firstIndex(of: $0) } ?? application.ranking.count
                    return (application.ranking.firstIndex(of: id).map { $0 < held }) ?? false
                }.map(\.childID).sorted { checker.ahead($0, $1, at: offers.first { $0.id == id } ?? offers[0]) }
            }
            if !checker.problems(seats: chairs, waitlist: waitlist).isEmpty { chairsCaught += 1 }
            // A planted mistake in the real result: the first holder with a later choice moved down to it.
            let result = try IntakeAllocator(offers: offers, applications: applications, seed: seed).run()
            var seats = result.seats.mapValues(\.offerID)
            if let (child, application) = seats.keys.sorted().lazy.compactMap({ child in applications.first { $0.childID == child }.map { (child, $0) } })
                .first(where: { child, application in (application.ranking.firstIndex(of: seats[child] ?? "") ?? 99) + 1 < application.ranking.count }),
                let offer = seats[child], let rank = application.ranking.firstIndex(of: offer)
            {
                seats[child] = application.ranking[rank + 1]
                planted += 1
                if !checker.problems(seats: seats, waitlist: { result.waitlist(of: $0) }).isEmpty { caught += 1 }
            }
        }
        #expect(chairsCaught > 20, "the checker found the chairs rule wrong in only \(chairsCaught) of 200 rounds")
        #expect(planted > 50 && caught == planted, "caught \(caught) of \(planted) planted mistakes")
    }

    /// Issue 10 item 4: an allocation run by a cancelled task (its call timed out or was
    /// cancelled) stops instead of finishing work nobody waits for; uncancelled, it finishes
    /// with the same result as `run()`.
    @Test func anAllocationStopsWhenItsTaskIsCancelled() async throws {
        let offers = (0..<5).map { IntakeOffer(id: "o\($0)", groupID: "g\($0)", nurseryID: "n", pattern: WeeklyPattern(bits: 0x3ff), places: 100) }
        let applications = (0..<40_000).map { number in
            IntakeApplication(
                childID: "c\(number)", familyKind: number % 3 == 0 ? .sos : .local, submittedAt: Int64(number),
                ranking: (0..<5).map { "o\((number + $0) % 5)" })
        }
        let allocator = try IntakeAllocator(offers: offers, applications: applications, seed: 7)
        let finished = try allocator.runUnlessCancelled()
        #expect(finished.seats.count == 500)
        #expect(finished.seats.mapValues(\.offerID) == allocator.run().seats.mapValues(\.offerID))
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return Result { () throws(CancellationError) in try allocator.runUnlessCancelled() }
        }
        switch await cancelled.value {
        case .success: Issue.record("a cancelled allocation ran to the end")
        case .failure: break
        }
    }

    /// domain.md's two cases, where chairs left a place empty or passed a child over.
    @Test func reservedPlacesAreFloorsNotChairs() throws {
        let offer = IntakeOffer(id: "A", groupID: "g", nurseryID: "n", pattern: WeeklyPattern(bits: 0x3ff), places: 2, reservedSOS: 1)
        // Waste: S1 (SOS, special needs) and L1 (local) both get a place.
        let waste = [
            IntakeApplication(childID: "s1", familyKind: .sos, specialNeeds: true, submittedAt: 1, ranking: ["A"]),
            IntakeApplication(childID: "l1", familyKind: .local, submittedAt: 1, ranking: ["A"]),
        ]
        let both = try IntakeAllocator(offers: [offer], applications: waste, seed: 1).run()
        #expect(both.seat(of: "s1")?.offerID == "A" && both.seat(of: "l1")?.offerID == "A")
        #expect(both.seat(of: "s1")?.kind == .reservedSOS && both.seat(of: "l1")?.kind == .open)
        // Justified envy: S1 > L1 (single parent) > S2; S1 and L1 placed, S2 waits.
        let envy = [
            IntakeApplication(childID: "s1", familyKind: .sos, specialNeeds: true, submittedAt: 1, ranking: ["A"]),
            IntakeApplication(childID: "l1", familyKind: .local, singleParent: true, submittedAt: 1, ranking: ["A"]),
            IntakeApplication(childID: "s2", familyKind: .sos, submittedAt: 1, ranking: ["A"]),
        ]
        let result = try IntakeAllocator(offers: [offer], applications: envy, seed: 1).run()
        #expect(Set(result.holders(of: "A")) == ["s1", "l1"])
        #expect(result.waitlist(of: "A") == ["s2"])
    }

    /// For random children, no reordering or shortening of their list gets them an offer they
    /// truly rank higher than what the truth gets them.
    @Test(arguments: 0..<10)
    func applyingWithTheTrueRankingIsNeverWorse(batch: Int) throws {
        var random = SeededRandom(seed: UInt64(5000 + batch))
        for _ in 0..<60 {
            let (offers, applications) = randomRound(&random, children: 4...25, offers: 2...6)
            let seed = random.next()
            let truth = try IntakeAllocator(offers: offers, applications: applications, seed: seed).run()
            for _ in 0..<3 {
                let liar = Int.random(in: 0..<applications.count, using: &random)
                let trueRanking = applications[liar].ranking
                let honest = truth.seat(of: applications[liar].childID).map(\.choice) ?? trueRanking.count
                for _ in 0..<8 {
                    var lie = applications
                    let pool = offers.map(\.id).shuffled(using: &random)
                    lie[liar].ranking = Array(pool.prefix(Int.random(in: 1...pool.count, using: &random)))
                    let got = try IntakeAllocator(offers: offers, applications: lie, seed: seed).run().seat(of: applications[liar].childID)
                    let gotRank = got.flatMap { trueRanking.firstIndex(of: $0.offerID) } ?? trueRanking.count
                    #expect(gotRank >= honest, "child \(applications[liar].childID) gains by ranking \(lie[liar].ranking) instead of \(trueRanking)")
                }
            }
        }
    }

    @Test func theSameRoundAndSeedGiveTheSameResultWhateverTheInputOrder() throws {
        var random = SeededRandom(seed: 77)
        for _ in 0..<50 {
            let (offers, applications) = randomRound(&random)
            let seed = random.next()
            let first = try IntakeAllocator(offers: offers, applications: applications, seed: seed).run()
            let second = try IntakeAllocator(offers: offers.shuffled(using: &random), applications: applications.shuffled(using: &random), seed: seed).run()
            #expect(first == second)
        }
    }

    @Test func aDifferentSeedChangesOnlyWhatTheLotteryDecided() throws {
        var random = SeededRandom(seed: 91)
        var changedWhenTied = false
        for _ in 0..<40 {
            var (offers, applications) = randomRound(&random)
            // Distinct submission times: the lottery never decides, so the seed cannot matter.
            for index in applications.indices { applications[index].submittedAt = Int64(index) }
            let a = try IntakeAllocator(offers: offers, applications: applications, seed: 1).run()
            let b = try IntakeAllocator(offers: offers, applications: applications, seed: 2).run()
            #expect(a == b)
            // Everyone tied on every criterion but the lottery: seeds do change results.
            let tied = applications.map { application in
                IntakeApplication(childID: application.childID, familyKind: application.familyKind, submittedAt: 0, ranking: application.ranking)
            }
            let x = try IntakeAllocator(offers: offers, applications: tied, seed: 1).run()
            let y = try IntakeAllocator(offers: offers, applications: tied, seed: 2).run()
            if x != y { changedWhenTied = true }
        }
        #expect(changedWhenTied)
    }

    @Test func badRoundsAreRefusedNamingTheField() {
        let offer = IntakeOffer(id: "o", groupID: "g", nurseryID: "n", pattern: WeeklyPattern(bits: 1), places: 2, reservedSOS: 2, reservedLocal: 1)
        #expect(throws: SchedulerError.self) { try IntakeAllocator(offers: [offer], applications: [], seed: 1) }
        let fine = IntakeOffer(id: "o", groupID: "g", nurseryID: "n", pattern: WeeklyPattern(bits: 1), places: 2)
        let unknown = IntakeApplication(childID: "c", familyKind: .sos, submittedAt: 0, ranking: ["missing"])
        #expect { try IntakeAllocator(offers: [fine], applications: [unknown], seed: 1) } throws: { ($0 as? SchedulerError)?.field == "applications.ranking" }
        let twice = IntakeApplication(childID: "c", familyKind: .sos, submittedAt: 0, ranking: ["o", "o"])
        #expect { try IntakeAllocator(offers: [fine], applications: [twice], seed: 1) } throws: { ($0 as? SchedulerError)?.field == "applications.ranking" }
        #expect { try IntakeAllocator(offers: [fine, fine], applications: [], seed: 1) } throws: { ($0 as? SchedulerError)?.field == "offers.id" }
    }
}

struct IntakeExplanationTests {
    /// Two places at offer A: one open, one reserved for SOS families. Aruzhan (local, sibling
    /// at the nursery) takes the open place; Dias (SOS) the SOS place; Timur (local, applied
    /// earlier than Dias but no sibling) gets neither and falls back to offer B.
    func round() throws -> (IntakeAllocator, IntakeResult) {
        let offers = [
            IntakeOffer(id: "A", groupID: "g1", nurseryID: "n1", pattern: WeeklyPattern(bits: 0x3ff), places: 2, reservedSOS: 1),
            IntakeOffer(id: "B", groupID: "g2", nurseryID: "n2", pattern: WeeklyPattern(bits: 0x3ff), places: 1),
        ]
        let applications = [
            IntakeApplication(childID: "aruzhan", familyKind: .local, siblingNurseries: ["n1"], submittedAt: 30, ranking: ["A"]),
            IntakeApplication(childID: "dias", familyKind: .sos, submittedAt: 20, ranking: ["A", "B"]),
            IntakeApplication(childID: "timur", familyKind: .local, submittedAt: 10, ranking: ["A", "B"]),
        ]
        let allocator = try IntakeAllocator(offers: offers, applications: applications, seed: 7)
        return (allocator, allocator.run())
    }

    @Test func saysWhoHoldsWhatAndWhy() throws {
        let (allocator, result) = try round()
        #expect(result.seat(of: "aruzhan")?.kind == .open)
        #expect(result.seat(of: "dias")?.kind == .reservedSOS)
        #expect(result.seat(of: "timur")?.offerID == "B")
        #expect(result.waitlist(of: "A") == ["timur"])

        let timur = try #require(allocator.explain(child: "timur", offer: "A", in: result))
        #expect(timur.outcome == .notAdmitted)
        #expect(timur.waitlistPosition == 1)
        #expect(timur.decidedBy == .sibling)
        #expect(timur.limit == .kindPlaces(.local, 1))
        #expect(timur.reservedForOthers == 1)
        let sentence = timur.sentence(name: "Timur")
        #expect(sentence.contains("a sibling already placed at that nursery"))
        #expect(sentence.contains("the other place is reserved for SOS families"))
        #expect(sentence.contains("1st on its waitlist"))
        // Other children are never named.
        #expect(!sentence.contains("aruzhan") && !sentence.contains("dias"))

        #expect(allocator.explain(child: "dias", offer: "A", in: result)?.outcome == .holds(.reservedSOS))
        #expect(allocator.explain(child: "dias", offer: "B", in: result)?.outcome == .heldHigherChoice(offerID: "A", choice: 0))
        #expect(allocator.explain(child: "aruzhan", offer: "B", in: result)?.outcome == .didNotApply)
        #expect(allocator.explain(child: "nobody", offer: "A", in: result) == nil)
    }

    @Test func withoutALotteryTheOrderOfRecordsIsNamed() throws {
        let offer = IntakeOffer(id: "A", groupID: "g", nurseryID: "n", pattern: WeeklyPattern(bits: 0x3ff), places: 1)
        let applications = ["a1", "b1"].map { IntakeApplication(childID: $0, familyKind: .local, submittedAt: 0, ranking: ["A"]) }
        let allocator = try IntakeAllocator(offers: [offer], applications: applications, order: [.specialNeeds], seed: 7)
        let result = allocator.run()
        #expect(result.seat(of: "a1")?.offerID == "A")
        let explanation = try #require(allocator.explain(child: "b1", offer: "A", in: result))
        #expect(explanation.decidedByIDOrder == true)
        let sentence = explanation.sentence(name: "B")
        #expect(sentence.contains("the order of their records (this round draws no lottery)"))
        #expect(!sentence.contains("the lottery;") && !sentence.contains("by the lottery"))
    }

    @Test func withoutTheSiblingCriterionTheEarlierApplicationWins() throws {
        let (base, _) = try round()
        let order = PriorityCriterion.defaultOrder.filter { $0 != .sibling }
        let allocator = try IntakeAllocator(offers: base.offers, applications: base.applications, order: order, seed: 7)
        let result = allocator.run()
        #expect(result.seat(of: "timur")?.offerID == "A")
        let aruzhan = try #require(allocator.explain(child: "aruzhan", offer: "A", in: result))
        #expect(aruzhan.decidedBy == .earlierApplication)
        #expect(aruzhan.sentence(name: "Aruzhan").contains("earlier application"))
    }

    /// A place kept empty by a reserve is said to be kept for that kind of family, never that the
    /// child's places "are only for those families" while they sit empty.
    @Test func aPlaceKeptByTheReserveIsSaidToBeFreeForThoseFamilies() throws {
        let offer = IntakeOffer(id: "A", groupID: "g", nurseryID: "n", pattern: WeeklyPattern(bits: 0x3ff), places: 3, reservedSOS: 2)
        let applications = [
            IntakeApplication(childID: "l1", familyKind: .local, submittedAt: 1, ranking: ["A"]),
            IntakeApplication(childID: "l2", familyKind: .local, submittedAt: 2, ranking: ["A"]),
        ]
        let allocator = try IntakeAllocator(offers: [offer], applications: applications, seed: 3)
        let result = allocator.run()
        #expect(result.holders(of: "A") == ["l1"])
        let explanation = try #require(allocator.explain(child: "l2", offer: "A", in: result))
        #expect(explanation.limit == .kindPlaces(.local, 1))
        #expect(explanation.freeForOthers == 2)
        let sentence = explanation.sentence(name: "Ali")
        #expect(sentence.contains("2 places reserved for SOS families are still free"))
        #expect(!sentence.contains("only for"))
        #expect(!sentence.contains("l1"))
    }
}
