import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// Intake rounds in every store kind.
struct IntakeStoreTests {
    let nursery = NurseryStoreTests()

    func context(_ now: Date = Date(), key: String? = nil) -> MutationContext {
        MutationContext(actor: "tok_test", method: "test", idempotencyKey: key, requestDigest: [1], now: now)
    }

    func round(deadline: Date = Date().addingTimeInterval(3600)) -> IntakeRoundInfo {
        IntakeRoundInfo(
            id: "r2030", siteID: "almaty", name: "Autumn 2030", first: CivilDate(parsing: "2030-09-02")!, last: CivilDate(parsing: "2031-05-30")!,
            deadline: deadline.millisecondsSince1970, seed: 42)
    }

    func offer(_ id: String, places: Int, sos: Int = 0, pattern: String = "mon-fri:full") throws -> IntakeOffer {
        IntakeOffer(id: id, groupID: NurseryFixture.almatyGroup, nurseryID: "", pattern: try WeeklyPattern(parsing: pattern), places: places, reservedSOS: sos)
    }

    func code(_ error: any Error) -> (SchedulerError.Code, String?)? {
        (error as? SchedulerError).map { ($0.code, $0.field) }
    }

    @Test(arguments: StoreKind.all)
    func aRoundTakesOffersThatFitAndApplicationsUntilItsDeadline(kind: StoreKind) async throws {
        try await nursery.withStore(kind) { store, _, fixture in
            // The group has 3 places; one child already holds one for the whole term.
            _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "held"), first: "2030-09-02", last: "2031-05-30")
            _ = try await store.createRound(round(), context: context()) { _ in [] }
            await #expect { try await store.createRound(round(), context: context()) { _ in [] } } throws: { code($0)?.0 == .alreadyExists }
            _ = try await store.openOffer(try offer("full-day", places: 1), roundID: "r2030", context: context()) { _ in [] }
            _ = try await store.openOffer(try offer("mornings", places: 1, pattern: "mon-fri:am"), roundID: "r2030", context: context()) { _ in [] }
            // A third full-day place in the mornings would need a fourth: refused, naming the field.
            await #expect { try await store.openOffer(try offer("more", places: 1), roundID: "r2030", context: context()) { _ in [] } } throws: {
                code($0)?.0 == .failedPrecondition && code($0)?.1 == "offer.places"
            }
            #expect(try await store.intakeInputs(roundID: "r2030").offers.map(\.id) == ["full-day", "mornings"])

            let a = try await fixture.newAlmatyChild(store, name: "a"), b = try await fixture.newAlmatyChild(store, name: "b")
            let first = Date()
            _ = try await store.submitApplications(
                roundID: "r2030",
                [ApplicationInput(childID: a.id, ranking: ["full-day", "mornings"]), ApplicationInput(childID: b.id, ranking: ["mornings"])],
                context: context(first), authorize: { _ in }, reply: { _ in [] })
            // An update changes the ranking but keeps the first submission time.
            _ = try await store.submitApplications(
                roundID: "r2030", [ApplicationInput(childID: a.id, ranking: ["mornings"])], context: context(first.addingTimeInterval(60)),
                authorize: { _ in }, reply: { _ in [] })
            let inputs = try await store.intakeInputs(roundID: "r2030")
            let stored = try #require(inputs.applications.first { $0.childID == a.id })
            #expect(stored.ranking == ["mornings"])
            #expect(stored.submittedAt == first.millisecondsSince1970)
            // The held child is a's sibling (same family), placed at the round's nursery.
            #expect(stored.siblingNurseries == ["almaty-1"])
            #expect(inputs.round.inputsVersion == 4)

            await #expect {
                try await store.submitApplications(
                    roundID: "r2030", [ApplicationInput(childID: b.id, ranking: ["nope"])], context: context(), authorize: { _ in }, reply: { _ in [] })
            } throws: { code($0)?.1 == "applications[0].ranking" }
            await #expect {
                try await store.submitApplications(
                    roundID: "r2030", [ApplicationInput(childID: "chd_missing", ranking: ["mornings"])], context: context(), authorize: { _ in },
                    reply: { _ in [] })
            } throws: { code($0)?.0 == .notFound && code($0)?.1 == "applications[0].child_id" }
            await #expect {
                try await store.submitApplications(
                    roundID: "r2030", [ApplicationInput(childID: b.id, ranking: ["mornings"])], context: context(first.addingTimeInterval(7200)),
                    authorize: { _ in }, reply: { _ in [] })
            } throws: { code($0)?.0 == .failedPrecondition }
            _ = try await store.withdrawApplication(roundID: "r2030", childID: b.id, context: context()) { _ in [] }
            #expect(try await store.intakeInputs(roundID: "r2030").applications.map(\.childID) == [a.id])
        }
    }

    @Test(arguments: StoreKind.all)
    func aRunIsStoredOnceAndOnlyForTheInputsItRead(kind: StoreKind) async throws {
        try await nursery.withStore(kind) { store, _, fixture in
            _ = try await store.createRound(round(), context: context()) { _ in [] }
            _ = try await store.openOffer(try offer("full-day", places: 2, sos: 1), roundID: "r2030", context: context()) { _ in [] }
            var children: [Child] = []
            for index in 0..<4 { children.append(try await fixture.newAlmatyChild(store, name: "c\(index)")) }
            _ = try await store.submitApplications(
                roundID: "r2030", children.map { ApplicationInput(childID: $0.id, ranking: ["full-day"]) }, context: context(), authorize: { _ in },
                reply: { _ in [] })
            let inputs = try await store.intakeInputs(roundID: "r2030")
            let allocator = try inputs.allocator()
            let records = allocator.runRecords(in: allocator.run())
            // The fixture's family is local: one child gets a place, the other place is kept for SOS families.
            #expect(records.children.filter { $0.seat != nil }.count == 1)
            // Inputs changed since they were read: the result is refused.
            _ = try await store.withdrawApplication(roundID: "r2030", childID: children[3].id, context: context()) { _ in [] }
            await #expect {
                try await store.recordAllocation(
                    roundID: "r2030", inputsVersion: inputs.round.inputsVersion, children: records.children, offers: records.offers, closedEarly: false,
                    context: context()
                ) { _ in [] }
            } throws: { code($0)?.0 == .aborted }
            let fresh = try await store.intakeInputs(roundID: "r2030")
            let freshAllocator = try fresh.allocator()
            let again = freshAllocator.runRecords(in: freshAllocator.run())
            #expect(try await store.hasRunRecords(roundID: "r2030") == false)
            _ = try await store.recordAllocation(
                roundID: "r2030", inputsVersion: fresh.round.inputsVersion, children: again.children, offers: again.offers, closedEarly: false,
                context: context()
            ) { _ in [] }
            #expect(try await store.round(id: "r2030")?.state == .allocated)
            #expect(try await store.hasRunRecords(roundID: "r2030"))
            // The run's rows read back as they were written: children in id order, in pages; offers; fills.
            #expect(try await store.intakeRunPage(roundID: "r2030", after: nil, limit: 100) == again.children)
            let firstTwo = try await store.intakeRunPage(roundID: "r2030", after: nil, limit: 2)
            #expect(firstTwo + (try await store.intakeRunPage(roundID: "r2030", after: firstTwo.last?.childID, limit: 100)) == again.children)
            #expect(try await store.intakeRunOffers(roundID: "r2030", ids: ["full-day", "nothing"]) == again.offers)
            #expect(Set(try await store.intakeRunChildren(roundID: "r2030", ids: [children[0].id, "nobody"]).map(\.childID)) == [children[0].id])
            #expect(try await store.intakeRunFills(roundID: "r2030") == again.offers.map(IntakeRunFill.init))
            #expect(try await store.roundOverview(id: "r2030")?.applications == 3)
            // Facts are kept with the run: a sibling placed after it changes nothing.
            _ = try await fixture.place(
                store, child: try await fixture.newAlmatyChild(store, name: "later"), first: "2030-09-02", last: "2030-09-03", pattern: "mon:am")
            #expect(try await store.intakeRunPage(roundID: "r2030", after: nil, limit: 100) == again.children)
            // Events are stored in order, and never with an instant before the last one's.
            _ = try await store.appendIntakeEvents(
                roundID: "r2030", [IntakeEventRecord(event: .release(child: children[0].id), at: 100)], context: context(),
                check: { stored, new in
                    #expect(stored.isEmpty && new.map(\.at) == [100])
                }, reply: { _ in [] })
            _ = try await store.appendIntakeEvents(
                roundID: "r2030", [IntakeEventRecord(event: .respond(child: children[1].id, offer: "full-day", accept: false), at: 50)], context: context(),
                check: { stored, new in #expect(stored.count == 1 && new.map(\.at) == [100]) }, reply: { _ in [] })
            await #expect {
                try await store.appendIntakeEvents(
                    roundID: "r2030", [IntakeEventRecord(event: .confirm(child: children[2].id, offer: "full-day"), at: 200)], context: context(),
                    check: { _, _ in throw SchedulerError(.failedPrecondition, "refused by the replay") }, reply: { _ in [] })
            } throws: { code($0)?.0 == .failedPrecondition }
            let events = try await store.intakeEvents(roundID: "r2030")
            #expect(
                events == [
                    IntakeEventRecord(event: .release(child: children[0].id), at: 100),
                    IntakeEventRecord(event: .respond(child: children[1].id, offer: "full-day", accept: false), at: 100),
                ])

            // The round refuses to run twice, and takes no more offers or applications.
            await #expect {
                try await store.recordAllocation(
                    roundID: "r2030", inputsVersion: fresh.round.inputsVersion, children: again.children, offers: again.offers, closedEarly: false,
                    context: context()
                ) { _ in [] }
            } throws: { code($0)?.0 == .failedPrecondition }
            await #expect {
                try await store.submitApplications(
                    roundID: "r2030", [ApplicationInput(childID: children[0].id, ranking: ["full-day"])], context: context(), authorize: { _ in },
                    reply: { _ in [] })
            } throws: { code($0)?.0 == .failedPrecondition }
        }
    }

    /// Issue 10 item 6: confirming books every placement and records every confirmation in one
    /// transaction. A failure in the middle (a trigger planted by hand refuses the second
    /// child's placement row) leaves nothing behind: no placement and no confirmation for the
    /// first child either. Refusals of single children (the replay, a full group) leave the
    /// others to commit together.
    @Test(arguments: StoreKind.all)
    func confirmingPlacesIsAllOrNothing(kind: StoreKind) async throws {
        try await nursery.withStore(kind) { store, directory, fixture in
            let round = round()
            _ = try await store.createRound(round, context: context()) { _ in [] }
            let full = try offer("full-day", places: 3)
            _ = try await store.openOffer(full, roundID: round.id, context: context()) { _ in [] }
            var children: [Child] = []
            for index in 0..<3 { children.append(try await fixture.newAlmatyChild(store, name: "c\(index)")) }
            _ = try await store.submitApplications(
                roundID: round.id, children.map { ApplicationInput(childID: $0.id, ranking: ["full-day"]) }, context: context(), authorize: { _ in },
                reply: { _ in [] })
            let inputs = try await store.intakeInputs(roundID: round.id)
            let allocator = try inputs.allocator()
            let records = allocator.runRecords(in: allocator.run())
            _ = try await store.recordAllocation(
                roundID: round.id, inputsVersion: inputs.round.inputsVersion, children: records.children, offers: records.offers, closedEarly: false,
                context: context()
            ) { _ in [] }
            let holders = records.children.filter { $0.seat != nil }.map(\.childID).sorted()
            #expect(holders.count == 3)
            let confirmations = holders.map {
                IntakeConfirmation(
                    childID: $0, offerID: "full-day",
                    booking: BookingInput(childID: $0, groupID: NurseryFixture.almatyGroup, first: round.first, last: round.last, pattern: full.pattern))
            }
            func placements() async throws -> [Placement] {
                try await store.listPlacements(PlacementFilter(groupID: NurseryFixture.almatyGroup), after: nil, limit: 100).items
            }
            func confirm(_ list: [IntakeConfirmation], check: @escaping @Sendable ([IntakeEventRecord], [IntakeEventRecord]) throws -> Void = { _, _ in })
                async throws -> IntakeConfirmed
            {
                try NurseryFixture.applied(
                    try await store.confirmIntakePlacements(
                        roundID: round.id, list, at: 1000, context: context(), authorize: { _ in }, check: check, reply: { _ in [] }))
            }

            if kind.name == "postgres" {
                try await nursery.byHand(
                    kind, directory,
                    """
                    CREATE FUNCTION planted() RETURNS trigger AS $$ BEGIN
                      IF NEW.child_id = '\(holders[1])' THEN RAISE EXCEPTION 'planted failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql
                    """)
                try await nursery.byHand(kind, directory, "CREATE TRIGGER planted BEFORE INSERT ON placement FOR EACH ROW EXECUTE FUNCTION planted()")
            } else {
                try await nursery.byHand(
                    kind, directory,
                    """
                    CREATE TRIGGER planted BEFORE INSERT ON placement WHEN NEW.child_id = '\(holders[1])'
                    BEGIN SELECT RAISE(ABORT, 'planted failure'); END
                    """)
            }
            await #expect(throws: (any Error).self) { _ = try await confirm(confirmations) }
            #expect(try await placements().isEmpty, "a placement outlived the failed confirmation")
            #expect(try await store.intakeEvents(roundID: round.id).isEmpty, "a confirmation outlived the failed confirmation")

            try await nursery.byHand(kind, directory, "DROP TRIGGER planted\(kind.name == "postgres" ? " ON placement" : "")")
            // The replay refuses the first child: the other two are booked and confirmed together.
            let partly = try await confirm(confirmations) { _, new in
                if new.contains(where: { $0.event == .confirm(child: holders[0], offer: "full-day") }) {
                    throw SchedulerError(.failedPrecondition, "no longer holds the place")
                }
            }
            #expect(partly.placed.map(\.childID) == Array(holders[1...]))
            #expect(partly.refused.map(\.childID) == [holders[0]])
            #expect(Set(try await placements().map(\.childID)) == Set(holders[1...]))
            #expect(try await store.intakeEvents(roundID: round.id).map(\.event) == holders[1...].map { .confirm(child: $0, offer: "full-day") })
            // A booking refused (the child's group is full for the first child now that a place
            // was taken by hand) leaves that child out with the reason.
            _ = try await fixture.place(store, child: try await fixture.newAlmatyChild(store, name: "walk-in"), first: "2030-09-02", last: "2031-05-30")
            let last = try await confirm([confirmations[0]])
            #expect(last.placed.isEmpty)
            #expect(last.refused.first?.reason.contains("no room") == true, "\(last.refused)")
            #expect(try await store.intakeEvents(roundID: round.id).count == 2)
        }
    }

    /// A run's child records span blocks: pages, look-ups of a few ids and of many read back
    /// exactly what was written, across block boundaries, with ids of any byte length.
    @Test(arguments: StoreKind.all)
    func runRecordsReadBackAcrossBlocks(kind: StoreKind) async throws {
        try await nursery.withStore(kind) { store, _, _ in
            _ = try await store.createRound(round(), context: context()) { _ in [] }
            var random = SeededRandom(seed: 17)
            let children = (0..<1_300).map { index -> IntakeRunChild in
                let seat =
                    index % 3 == 0
                    ? nil : IntakeResult.Seat(offerID: "o\(index % 7)", kind: [.open, .reservedSOS, .reservedLocal][index % 3], choice: index % 4)
                let facts = PriorityFacts(
                    familyKind: index % 2 == 0 ? .sos : .local, siblingNurseries: index % 5 == 0 ? ["n1", "n\(index % 9)"] : [], specialNeeds: index % 11 == 0,
                    singleParent: index % 13 == 0, parentsWorking: index % 2 == 1, submissionRank: index / 3, lotteryPosition: 1_299 - index)
                return IntakeRunChild(childID: "c\(String(index, radix: 7))é", facts: facts, ranking: (0...(index % 4)).map { "o\($0)" }, seat: seat)
            }.sorted { $0.childID.utf8.lexicographicallyPrecedes($1.childID.utf8) }
            let version = try #require(try await store.round(id: "r2030")).inputsVersion
            _ = try await store.recordAllocation(
                roundID: "r2030", inputsVersion: version, children: children, offers: [], closedEarly: false, context: context()
            ) { _ in [] }
            var paged: [IntakeRunChild] = []
            var after: String?
            while true {
                let page = try await store.intakeRunPage(roundID: "r2030", after: after, limit: 333)
                paged += page
                guard page.count == 333, let last = page.last else { break }
                after = last.childID
            }
            #expect(paged == children)
            for count in [1, 5, 64, 65, 700] {
                let wanted = Set(children.shuffled(using: &random).prefix(count).map(\.childID))
                let found = try await store.intakeRunChildren(roundID: "r2030", ids: wanted.union(["c-unknown", ""]))
                #expect(Set(found.map(\.childID)) == wanted)
                #expect(found.allSatisfy { child in children.first { $0.childID == child.childID } == child })
            }
        }
    }

    /// Random rounds built through the store as families build them: applications submitted in
    /// batches over time, some sent again with another ranking (keeping their first time), some
    /// withdrawn (and maybe sent again later, with a new time); offers with reserves of both
    /// kinds; siblings placed at the nursery. The allocation of what the store hands the run is
    /// judged by the rule's checker against the test's own record of what was applied.
    @Test(arguments: StoreKind.all)
    func roundsBuiltThroughTheStoreAreAllocatedByTheRule(kind: StoreKind) async throws {
        try await nursery.withStore(kind) { store, _, _ in
            var random = SeededRandom(seed: "\(kind)".utf8.reduce(31) { $0 &* 31 &+ UInt64($1) })
            let setup = context()
            func applied<T>(_ outcome: Mutated<T>) throws -> T { try NurseryFixture.applied(outcome) }
            // A group per round (rounds open on one group share its places), one for the siblings' places.
            for (id, capacity) in [("prop-offers0", 10), ("prop-offers1", 10), ("prop-offers2", 10), ("prop-offers3", 10), ("prop-siblings", 50)] {
                _ = try await store.createGroup(
                    Group(id: id, nurseryID: "almaty-1", name: id, minAgeMonths: 0, maxAgeMonths: 120, capacity: capacity), context: setup
                ) { _ in [] }
            }
            // Families of both kinds with their household facts; two to three children each.
            var facts: [String: IntakeApplication] = [:]
            var families: [(Family, [Child])] = []
            for _ in 0..<10 {
                let family = try applied(
                    try await store.registerFamily(
                        Family(
                            id: "", siteID: "almaty", kind: Bool.random(using: &random) ? .sos : .local,
                            singleParent: Int.random(in: 0..<4, using: &random) == 0,
                            parentsWorking: Bool.random(using: &random)), context: setup
                    ) { _ in [] })
                var children: [Child] = []
                for index in 0..<Int.random(in: 2...3, using: &random) {
                    children.append(
                        try applied(
                            try await store.registerChild(
                                Child(
                                    id: "", familyID: family.id, givenName: "c\(index)", birthDate: CivilDate(parsing: "2028-03-15")!,
                                    specialNeeds: Int.random(in: 0..<6, using: &random) == 0), context: setup
                            ) { _ in [] }))
                }
                families.append((family, children))
            }
            // In a third of the families one child already has a place at the nursery: the others have a sibling there.
            var applicants: [Child] = []
            for (family, children) in families {
                var rest = children
                if Int.random(in: 0..<3, using: &random) == 0, let placed = rest.popLast() {
                    _ = try await store.bookPlace(
                        BookingInput(
                            childID: placed.id, groupID: "prop-siblings", first: CivilDate(parsing: "2030-09-02")!, last: nil,
                            pattern: try WeeklyPattern(parsing: "mon:am")),
                        context: setup, authorize: { _ in }, reply: { _ in [] })
                    for child in rest {
                        facts[child.id] = IntakeApplication(
                            childID: child.id, familyKind: family.kind, siblingNurseries: ["almaty-1"], submittedAt: 0, ranking: [])
                    }
                }
                for child in rest {
                    if facts[child.id] == nil { facts[child.id] = IntakeApplication(childID: child.id, familyKind: family.kind, submittedAt: 0, ranking: []) }
                    facts[child.id]?.specialNeeds = child.specialNeeds
                    facts[child.id]?.singleParent = family.singleParent
                    facts[child.id]?.parentsWorking = family.parentsWorking
                }
                applicants += rest
            }
            let slots = ["mon:am", "mon:pm", "tue:am", "tue:pm", "wed:am", "wed:pm", "thu:am", "thu:pm", "fri:am", "fri:pm"]
            for roundNumber in 0..<4 {
                let roundID = "prop\(roundNumber)"
                let start = Date(timeIntervalSince1970: 1_900_000_000 + Double(roundNumber) * 10_000)
                _ = try await store.createRound(
                    IntakeRoundInfo(
                        id: roundID, siteID: "almaty", name: roundID, first: CivilDate(parsing: "2030-09-02")!, last: CivilDate(parsing: "2031-05-30")!,
                        deadline: start.addingTimeInterval(1_000).millisecondsSince1970, seed: random.next()),
                    context: context(start)
                ) { _ in [] }
                var offers: [IntakeOffer] = []
                for (index, slot) in slots.shuffled(using: &random).prefix(Int.random(in: 2...5, using: &random)).enumerated() {
                    let places = Int.random(in: 1...4, using: &random)
                    let sos = Int.random(in: 0...places, using: &random), local = Int.random(in: 0...(places - sos), using: &random)
                    let offer = IntakeOffer(
                        id: "\(roundID)-o\(index)", groupID: "prop-offers\(roundNumber)", nurseryID: "almaty-1", pattern: try WeeklyPattern(parsing: slot),
                        places: places,
                        reservedSOS: sos, reservedLocal: local)
                    _ = try await store.openOffer(offer, roundID: roundID, context: context(start)) { _ in [] }
                    offers.append(offer)
                }
                // Batches over time: first submissions, re-submissions with a new ranking, withdrawals.
                var record: [String: IntakeApplication] = [:]
                for batch in 1...4 {
                    let at = start.addingTimeInterval(Double(batch * 10))
                    var inputs: [ApplicationInput] = []
                    for child in applicants.shuffled(using: &random).prefix(Int.random(in: 3...12, using: &random)) {
                        let ranking = offers.map(\.id).shuffled(using: &random).prefix(Int.random(in: 1...offers.count, using: &random))
                        inputs.append(ApplicationInput(childID: child.id, ranking: Array(ranking)))
                        var application =
                            record[child.id] ?? facts[child.id] ?? IntakeApplication(childID: child.id, familyKind: .local, submittedAt: 0, ranking: [])
                        if record[child.id] == nil { application.submittedAt = at.millisecondsSince1970 }
                        application.ranking = Array(ranking)
                        record[child.id] = application
                    }
                    _ = try await store.submitApplications(roundID: roundID, inputs, context: context(at), authorize: { _ in }) { _ in [] }
                    for child in record.keys.sorted().shuffled(using: &random).prefix(Int.random(in: 0...2, using: &random)) {
                        _ = try await store.withdrawApplication(roundID: roundID, childID: child, context: context(at)) { _ in [] }
                        record[child] = nil
                    }
                }
                let inputs = try await store.intakeInputs(roundID: roundID)
                #expect(inputs.applications.count == record.count)
                let result = try inputs.allocator().run()
                let checker = IntakeChecker(offers: offers, applications: Array(record.values), order: inputs.round.order, seed: inputs.round.seed)
                let problems = checker.problems(result)
                #expect(problems.isEmpty, "\(kind) \(roundID): \(problems.prefix(3))")
            }
        }
    }

    /// Two rounds open on one group cannot promise its places twice over the same days; a round
    /// whose term does not overlap can.
    @Test(arguments: StoreKind.all)
    func roundsOpenOnOneGroupShareItsPlaces(kind: StoreKind) async throws {
        try await nursery.withStore(kind) { store, _, _ in
            func round(_ id: String, _ first: String, _ last: String) -> IntakeRoundInfo {
                IntakeRoundInfo(
                    id: id, siteID: "almaty", name: id, first: CivilDate(parsing: first)!, last: CivilDate(parsing: last)!,
                    deadline: Date().addingTimeInterval(3600).millisecondsSince1970, seed: 1)
            }
            for (id, first, last) in [("autumn", "2030-09-02", "2031-05-30"), ("spring", "2031-02-03", "2031-06-27"), ("later", "2031-09-01", "2032-05-28")] {
                _ = try await store.createRound(round(id, first, last), context: context()) { _ in [] }
            }
            // The group holds 3 a session: autumn offers all of them.
            _ = try await store.openOffer(try offer("autumn-full", places: 3), roundID: "autumn", context: context()) { _ in [] }
            await #expect {
                try await store.openOffer(try offer("spring-am", places: 1, pattern: "mon-fri:am"), roundID: "spring", context: context()) { _ in [] }
            } throws: { code($0)?.0 == .failedPrecondition && code($0)?.1 == "offer.places" }
            _ = try await store.openOffer(try offer("later-full", places: 3), roundID: "later", context: context()) { _ in [] }
            #expect(try await store.intakeOffers(roundID: "spring").isEmpty)
        }
    }
}
