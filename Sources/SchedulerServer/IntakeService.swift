import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire
import Synchronization

/// `sos.scheduler.v1.IntakeService`: intake rounds at a site. Rounds are site work: an admin,
/// or a manager whose scope covers the round's site (a `nursery:` scope covers its site's
/// families, so its manager may submit their applications and read results; only `site:`
/// managers create rounds and run them). Explanations never name other children.
struct IntakeService {
    static let prefix = "/sos.scheduler.v1.IntakeService/"
    let store: any Store

    func register(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)
        let p = Self.prefix

        registry.mutating(p + "CreateRound") { (request: CreateRoundRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.round else { throw SchedulerError(.invalidArgument, "round is required", field: "round") }
            let siteID = try Field.id(message.siteID, "round.site_id")
            try access.checkSiteAdministration(principal, siteID)
            guard message.deadlineMS > 0 else {
                throw SchedulerError(.invalidArgument, "deadline_ms is the last instant applications are taken (milliseconds since 1970)", field: "round.deadline_ms")
            }
            var seed = message.seed
            if seed == 0 {
                var generator = SystemRandomNumberGenerator()
                seed = UInt64.random(in: 1...UInt64.max, using: &generator)
            }
            let order = message.priorityOrder.isEmpty
                ? PriorityCriterion.defaultOrder : try IntakeRoundInfo.order(parsing: message.priorityOrder.joined(separator: ","))
            let round = IntakeRoundInfo(
                id: try Field.id(message.id, "round.id"), siteID: siteID, name: try Field.name(message.name, "round.name", required: false),
                first: try Field.date(message.termFirst, "round.term_first"), last: try Field.date(message.termLast, "round.term_last"),
                deadline: message.deadlineMS, seed: seed, order: order)
            return NurseryService.reply(try await store.createRound(round, context: context.mutation()) { try WireCodec.encode(IntakeRoundMessage($0, offers: [], applications: 0)) })
        }

        registry.async(p + "GetRound") { (request: GetRoundRequest, context) in
            let principal = try context.requirePrincipal()
            let inputs = try await store.intakeInputs(roundID: try Field.id(request.id, "id"))
            try await access.checkSite(principal, inputs.round.siteID)
            return IntakeRoundMessage(inputs.round, offers: inputs.offers, applications: inputs.applications.count)
        }

        registry.mutating(p + "OpenOffer") { (request: OpenOfferRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.offer else { throw SchedulerError(.invalidArgument, "offer is required", field: "offer") }
            let roundID = try Field.id(message.roundID, "offer.round_id")
            let (group, nursery) = try await access.group(try Field.id(message.groupID, "offer.group_id"), field: "offer.group_id")
            try access.checkNursery(principal, nursery)
            guard message.places > 0 else { throw SchedulerError(.invalidArgument, "an offer needs at least one place", field: "offer.places") }
            let offer = IntakeOffer(
                id: try Field.id(message.id, "offer.id"), groupID: group.id, nurseryID: nursery.id, pattern: try Field.pattern(message.pattern, "offer.pattern"),
                places: Int(message.places), reservedSOS: Int(message.reservedSOS), reservedLocal: Int(message.reservedLocal))
            return NurseryService.reply(try await store.openOffer(offer, roundID: roundID, context: context.mutation()) {
                try WireCodec.encode(IntakeOfferMessage($0, roundID: roundID))
            })
        }

        registry.mutating(p + "SubmitApplications") { (request: SubmitApplicationsRequest, context) in
            let principal = try context.requirePrincipal()
            let roundID = try Field.id(request.roundID, "round_id")
            guard let round = try await store.round(id: roundID) else { throw SchedulerError(.notFound, "no intake round with id \(roundID)", field: "round_id") }
            // Every child must belong to the round's site (the store checks), so the site's scope covers them all.
            try await access.checkSite(principal, round.siteID)
            guard !request.applications.isEmpty else { throw SchedulerError(.invalidArgument, "no applications", field: "applications") }
            guard request.applications.count <= 10_000 else {
                throw SchedulerError(.invalidArgument, "at most 10,000 applications a call; send the rest in further calls", field: "applications")
            }
            var inputs: [ApplicationInput] = []
            var seen = Set<String>()
            for (index, application) in request.applications.enumerated() {
                let childID = try Field.id(application.childID, "applications[\(index)].child_id")
                guard seen.insert(childID).inserted else {
                    throw SchedulerError(.invalidArgument, "child \(childID) appears twice in this call", field: "applications[\(index)].child_id")
                }
                inputs.append(ApplicationInput(childID: childID, ranking: application.ranking))
            }
            return NurseryService.reply(try await store.submitApplications(roundID: roundID, inputs, context: context.mutation(), authorize: { _ in }) {
                try WireCodec.encode(SubmitApplicationsResponse(submitted: UInt32($0)))
            })
        }

        registry.mutating(p + "WithdrawApplication") { (request: WithdrawApplicationRequest, context) in
            let principal = try context.requirePrincipal()
            let roundID = try Field.id(request.roundID, "round_id")
            guard let round = try await store.round(id: roundID) else { throw SchedulerError(.notFound, "no intake round with id \(roundID)", field: "round_id") }
            try await access.checkSite(principal, round.siteID)
            let childID = try Field.id(request.childID, "child_id")
            return NurseryService.reply(try await store.withdrawApplication(roundID: roundID, childID: childID, context: context.mutation()) {
                try WireCodec.encode(WithdrawApplicationResponse(childID: $0))
            })
        }

        registry.mutating(p + "RunRound") { (request: RunRoundRequest, context) in
            let principal = try context.requirePrincipal()
            let inputs = try await store.intakeInputs(roundID: try Field.id(request.roundID, "round_id"))
            try access.checkSiteAdministration(principal, inputs.round.siteID)
            guard inputs.round.state == .open else {
                throw SchedulerError(.failedPrecondition, "round \(inputs.round.id) has already run; its results are final", field: "round_id")
            }
            let allocator = try inputs.allocator()
            let result = allocator.run()
            let held = result.seats
            let response = Self.summary(allocator, result, seats: held, dryRun: request.dryRun)
            if request.dryRun {
                // Nothing changes, but every child's application was read: that is audited.
                try await store.recordRead(actor: principal.tokenID, method: context.method, records: ["intake_round:\(inputs.round.id)"], at: Date())
                return try WireCodec.encode(response)
            }
            let seats = held.map { IntakeSeatRecord(childID: $0.key, offerID: $0.value.offerID, seat: $0.value.kind, choice: $0.value.choice) }
            return NurseryService.reply(try await store.recordAllocation(
                roundID: inputs.round.id, inputsVersion: inputs.round.inputsVersion, applications: inputs.applications, seats: seats,
                context: context.mutation()) { _ in try WireCodec.encode(response) })
        }

        registry.async(p + "GetResults") { (request: GetResultsRequest, context) in
            let principal = try context.requirePrincipal()
            let (inputs, allocator, result) = try await Self.allocated(store, try Field.id(request.roundID, "round_id"))
            try await access.checkSite(principal, inputs.round.siteID)
            // What was stored is what counts; the re-run (same inputs, same seed) gives the waitlists.
            guard request.pageSize <= 10_000 else { throw SchedulerError(.invalidArgument, "page_size is over 10000", field: "page_size") }
            let size = request.pageSize == 0 ? 1000 : Int(request.pageSize)
            let stored = Dictionary(uniqueKeysWithValues: try await store.intakeResults(roundID: inputs.round.id).map { ($0.childID, $0) })
            // Applications are in child-id order: the page starts after the token's child.
            let start = request.pageToken.isEmpty
                ? 0 : allocator.applications.firstIndex { $0.childID.utf8.lexicographicallyPrecedes(request.pageToken.utf8) == false && $0.childID != request.pageToken }
                    ?? allocator.applications.count
            let page = allocator.applications[start..<min(allocator.applications.count, start + size)]
            let results = page.map { application -> ChildResultMessage in
                guard let seat = stored[application.childID] else { return ChildResultMessage(childID: application.childID) }
                return ChildResultMessage(childID: application.childID, offerID: seat.offerID, seat: seat.seat.rawValue, choice: UInt32(seat.choice + 1))
            }
            let next = start + size < allocator.applications.count ? (page.last?.childID ?? "") : ""
            return GetResultsResponse(results: results, offers: Self.summary(allocator, result, seats: result.seats, dryRun: false).offers, nextPageToken: next)
        }

        registry.async(p + "GetWaitlist") { (request: GetWaitlistRequest, context) in
            let principal = try context.requirePrincipal()
            let (inputs, allocator, result) = try await Self.allocated(store, try Field.id(request.roundID, "round_id"))
            try await access.checkSite(principal, inputs.round.siteID)
            let offerID = try Field.id(request.offerID, "offer_id")
            guard inputs.offers.contains(where: { $0.id == offerID }) else {
                throw SchedulerError(.notFound, "no offer \(offerID) in round \(inputs.round.id)", field: "offer_id")
            }
            // The waitlist as the moves since the run have left it.
            let waitlist = try await Self.live(store, inputs.round.id, allocator, result, now: context.now())
            let entries = (waitlist.waitlists[offerID] ?? []).enumerated().map { WaitlistEntryMessage(position: UInt32($0.offset + 1), childID: $0.element) }
            let offered: [IntakeWaitlist.Pending] = waitlist.pending.filter { $0.offerID == offerID }
            let pending = offered.map { PendingOfferMessage(childID: $0.childID, seat: $0.seat.rawValue, deadlineMS: $0.deadline) }
            return GetWaitlistResponse(entries: entries, pending: pending)
        }

        registry.mutating(p + "ReleaseSeat") { (request: ReleaseSeatRequest, context) in
            let principal = try context.requirePrincipal()
            let event = IntakeEvent.release(child: try Field.id(request.childID, "child_id"))
            return try await Self.append(store, access, principal, context, roundID: try Field.id(request.roundID, "round_id"), event)
        }

        registry.mutating(p + "RespondToOffer") { (request: RespondToOfferRequest, context) in
            let principal = try context.requirePrincipal()
            let event = IntakeEvent.respond(
                child: try Field.id(request.childID, "child_id"), offer: try Field.id(request.offerID, "offer_id"), accept: request.accept)
            return try await Self.append(store, access, principal, context, roundID: try Field.id(request.roundID, "round_id"), event)
        }

        registry.mutating(p + "ConfirmPlacements") { (request: ConfirmPlacementsRequest, context) in
            let principal = try context.requirePrincipal()
            let (inputs, allocator, result) = try await Self.allocated(store, try Field.id(request.roundID, "round_id"))
            try await access.checkSite(principal, inputs.round.siteID)
            let waitlist = try await Self.live(store, inputs.round.id, allocator, result, now: context.now())
            var children: [String] = []
            for (index, child) in request.childIDs.enumerated() { children.append(try Field.id(child, "child_ids[\(index)]")) }
            if children.isEmpty { children = waitlist.seats.keys.sorted() }
            let offers = Dictionary(uniqueKeysWithValues: inputs.offers.map { ($0.id, $0) })
            var response = ConfirmPlacementsResponse()
            // 1. Book each child's placement: its own change, with a key of its own (child and offer),
            //    so a retried call books nobody twice.
            var booked: [(child: String, offer: IntakeOffer, placementID: String)] = []
            for child in children {
                guard let seat = waitlist.seats[child], let offer = offers[seat.offerID] else {
                    response.refused.append(RefusedConfirmationMessage(childID: child, reason: "holds no place in this round"))
                    continue
                }
                if waitlist.confirmed.contains(child) {
                    // Confirming is idempotent: a confirmed child is reported with their placement.
                    let existing = try await Self.placement(store, child: child, offer: offer, round: inputs.round)
                    response.confirmed.append(ConfirmedPlacementMessage(childID: child, offerID: offer.id, placementID: existing?.id ?? ""))
                    continue
                }
                let booking = BookingInput(childID: child, groupID: offer.groupID, first: inputs.round.first, last: inputs.round.last, pattern: offer.pattern)
                do {
                    let outcome = try await store.bookPlace(booking, context: context.mutation(part: "\(child)@\(offer.id)"), authorize: { parties in
                        try access.checkNursery(principal, parties.nursery)
                    }, reply: { try WireCodec.encode(PlacementMessage($0, nurseryID: $0.nurseryID)) })
                    let placement = try WireCodec.decode(PlacementMessage.self, from: NurseryService.reply(outcome))
                    booked.append((child, offer, placement.id))
                } catch let refusal as BookingRefused {
                    response.refused.append(RefusedConfirmationMessage(
                        childID: child, reason: "the group has no room any more: \(refusal.conflicts.first.map { "\($0.date) \($0.session.shortName) is full" } ?? "full")"))
                } catch let error as SchedulerError where error.field == "child_id" {
                    // An earlier attempt (under another key) booked it already: that placement is the one.
                    if let existing = try await Self.placement(store, child: child, offer: offer, round: inputs.round) {
                        booked.append((child, offer, existing.id))
                    } else {
                        response.refused.append(RefusedConfirmationMessage(childID: child, reason: error.message))
                    }
                } catch let error as SchedulerError {
                    response.refused.append(RefusedConfirmationMessage(childID: child, reason: error.message))
                }
            }
            // 2. Mark them confirmed, all in one event batch (one replay). If the state moved on
            //    meanwhile (a child took another seat), each goes on its own, and a child who can no
            //    longer be confirmed has the placement just booked cancelled again.
            let at = context.now().millisecondsSince1970
            let events = booked.map { IntakeEventRecord(event: .confirm(child: $0.child, offer: $0.offer.id), at: at) }
            var confirmedNow = Set<String>()
            do {
                if !events.isEmpty {
                    _ = try await Self.appendChecked(store, context, roundID: inputs.round.id, allocator, result, events, part: "confirm")
                }
                confirmedNow = Set(booked.map(\.child))
            } catch let error as SchedulerError where error.code == .failedPrecondition {
                for (entry, event) in zip(booked, events) {
                    do {
                        _ = try await Self.appendChecked(store, context, roundID: inputs.round.id, allocator, result, [event], part: "confirm#\(entry.child)")
                        confirmedNow.insert(entry.child)
                    } catch let refusal as SchedulerError {
                        _ = try? await store.cancelPlacement(id: entry.placementID, context: context.mutation(part: "undo#\(entry.child)")) { _ in [] }
                        response.refused.append(RefusedConfirmationMessage(childID: entry.child, reason: refusal.message))
                    }
                }
            }
            for entry in booked where confirmedNow.contains(entry.child) {
                response.confirmed.append(ConfirmedPlacementMessage(childID: entry.child, offerID: entry.offer.id, placementID: entry.placementID))
            }
            return try WireCodec.encode(response)
        }

        registry.async(p + "ListMoves") { (request: ListMovesRequest, context) in
            let principal = try context.requirePrincipal()
            let (inputs, allocator, result) = try await Self.allocated(store, try Field.id(request.roundID, "round_id"))
            try await access.checkSite(principal, inputs.round.siteID)
            let waitlist = try await Self.live(store, inputs.round.id, allocator, result, now: context.now())
            return MovesResponse(moves: waitlist.moves.map(Self.message))
        }

        registry.async(p + "Explain") { (request: ExplainRequest, context) in
            let principal = try context.requirePrincipal()
            let roundID = try Field.id(request.roundID, "round_id")
            let inputs = try await store.intakeInputs(roundID: roundID)
            try await access.checkSite(principal, inputs.round.siteID)
            let childID = try Field.id(request.childID, "child_id"), offerID = try Field.id(request.offerID, "offer_id")
            guard inputs.offers.contains(where: { $0.id == offerID }) else {
                throw SchedulerError(.notFound, "no offer \(offerID) in round \(roundID)", field: "offer_id")
            }
            guard let child = try await store.child(id: childID) else { throw SchedulerError(.notFound, "no child with id \(childID)", field: "child_id") }
            let allocator = try inputs.allocator()
            let result = allocator.run()
            guard let explanation = allocator.explain(child: childID, offer: offerID, in: result) else {
                throw SchedulerError(.notFound, "child \(childID) has no application in round \(roundID)", field: "child_id")
            }
            try await store.recordRead(actor: principal.tokenID, method: context.method, records: ["child:\(childID)", "intake_round:\(roundID)"], at: Date())
            var text = explanation.sentence(name: child.givenName)
            if inputs.round.state == .open { text = "If the round ran now: " + text }
            return ExplainResponse(
                outcome: Self.outcome(explanation.outcome), text: text, choice: explanation.choice.map { UInt32($0 + 1) } ?? 0,
                waitlistPosition: UInt32(explanation.waitlistPosition ?? 0), decidingCriteria: explanation.cutoffs.compactMap { $0.decidedBy?.rawValue })
        }
    }

    /// A round that has run, its allocator, and the re-run's result (equal to the stored one: the
    /// inputs and the facts are frozen, and the seed is the round's).
    static func allocated(_ store: any Store, _ roundID: String) async throws -> (IntakeInputs, IntakeAllocator, IntakeResult) {
        let inputs = try await store.intakeInputs(roundID: roundID)
        guard inputs.round.state == .allocated else {
            throw SchedulerError(.failedPrecondition, "round \(roundID) has not run yet; RunRound with dry_run shows what it would give", field: "round_id")
        }
        let allocator = try inputs.allocator()
        return (inputs, allocator, allocator.run())
    }

    /// The round's waitlist state now: its stored events replayed over the run's result.
    static func live(_ store: any Store, _ roundID: String, _ allocator: IntakeAllocator, _ result: IntakeResult, now: Date) async throws -> IntakeWaitlist {
        let events = try await store.intakeEvents(roundID: roundID)
        return try IntakeWaitlist.replay(allocator: allocator, result: result, events: events.map { ($0.event, $0.at) }, now: now.millisecondsSince1970)
    }

    /// Appends a family's event if the waitlist, replayed with it in the store's transaction,
    /// accepts it; answers with the moves it caused. The caller's scope must cover the nursery
    /// of the offer the event touches.
    static func append(
        _ store: any Store, _ access: NurseryAccess, _ principal: Principal, _ context: CallContext, roundID: String, _ event: IntakeEvent
    ) async throws -> [UInt8] {
        let (inputs, allocator, result) = try await allocated(store, roundID)
        try await access.checkSite(principal, inputs.round.siteID)
        let offerID: String?
        switch event {
        case .release(let child): offerID = try await live(store, roundID, allocator, result, now: context.now()).seats[child]?.offerID
        case .respond(_, let offer, _), .confirm(_, let offer): offerID = offer
        }
        if let offerID, let offer = inputs.offers.first(where: { $0.id == offerID }) {
            try access.checkNursery(principal, try await access.nursery(offer.nurseryID, field: "offer_id"))
        }
        let at = context.now().millisecondsSince1970
        return try await appendChecked(store, context, roundID: roundID, allocator, result, [IntakeEventRecord(event: event, at: at)], part: nil)
    }

    /// Appends events in one transaction after replaying the stored ones with them; the reply is
    /// the moves they caused.
    static func appendChecked(
        _ store: any Store, _ context: CallContext, roundID: String, _ allocator: IntakeAllocator, _ result: IntakeResult, _ events: [IntakeEventRecord],
        part: String?
    ) async throws -> [UInt8] {
        let caused = Mutex<[IntakeWaitlist.Move]>([])
        let mutation = part.map { context.mutation(part: $0) } ?? context.mutation()
        let outcome = try await store.appendIntakeEvents(roundID: roundID, events, context: mutation, check: { stored, new in
            // Replayed up to the first new event only: the new events' own expiries happen as they apply.
            var waitlist = try IntakeWaitlist.replay(allocator: allocator, result: result, events: stored.map { ($0.event, $0.at) }, now: new.first?.at ?? 0)
            let before = waitlist.moves.count
            for event in new { try waitlist.apply(event.event, at: event.at) }
            caused.withLock { $0 = Array(waitlist.moves[before...]) }
        }, reply: { _ in
            try WireCodec.encode(MovesResponse(moves: caused.withLock { $0 }.map(Self.message)))
        })
        return NurseryService.reply(outcome)
    }

    /// The placement a confirmation booked for a child at an offer, if any.
    static func placement(_ store: any Store, child: String, offer: IntakeOffer, round: IntakeRoundInfo) async throws -> Placement? {
        try await store.listPlacements(PlacementFilter(groupID: offer.groupID, childID: child, from: round.first, to: round.last), after: nil, limit: 10)
            .items.first { $0.first == round.first && $0.pattern == offer.pattern }
    }

    static func message(_ move: IntakeWaitlist.Move) -> MoveMessage {
        switch move {
        case .offered(let child, let offer, let seat, let deadline):
            MoveMessage(kind: "offered", childID: child, offerID: offer, seat: seat.rawValue, deadlineMS: deadline)
        case .accepted(let child, let offer): MoveMessage(kind: "accepted", childID: child, offerID: offer)
        case .declined(let child, let offer): MoveMessage(kind: "declined", childID: child, offerID: offer)
        case .expired(let child, let offer): MoveMessage(kind: "expired", childID: child, offerID: offer)
        case .released(let child, let offer, let seat): MoveMessage(kind: "released", childID: child, offerID: offer, seat: seat.rawValue)
        case .leftFree(let offer, let seat): MoveMessage(kind: "left_free", offerID: offer, seat: seat.rawValue)
        case .confirmed(let child, let offer): MoveMessage(kind: "confirmed", childID: child, offerID: offer)
        }
    }

    static func summary(_ allocator: IntakeAllocator, _ result: IntakeResult, seats: [String: IntakeResult.Seat], dryRun: Bool) -> RunRoundResponse {
        let fills = allocator.offers.map { offer -> OfferFillMessage in
            let holders = result.holders(of: offer.id)
            let kinds = holders.compactMap { seats[$0]?.kind }
            return OfferFillMessage(
                offerID: offer.id, places: UInt32(offer.places), held: UInt32(holders.count),
                heldReservedSOS: UInt32(kinds.filter { $0 == .reservedSOS }.count), heldReservedLocal: UInt32(kinds.filter { $0 == .reservedLocal }.count),
                waiting: UInt32(result.waitlist(of: offer.id).count))
        }
        return RunRoundResponse(
            applications: UInt32(allocator.applications.count), placed: UInt32(seats.count), firstChoice: UInt32(seats.values.filter { $0.choice == 0 }.count),
            offers: fills, dryRun: dryRun)
    }

    static func outcome(_ outcome: IntakeExplanation.Outcome) -> String {
        switch outcome {
        case .holds: "holds"
        case .didNotApply: "not_applied"
        case .heldHigherChoice: "holds_higher_choice"
        case .notAdmitted: "not_admitted"
        }
    }
}

extension IntakeRoundMessage {
    init(_ round: IntakeRoundInfo, offers: [IntakeOffer], applications: Int) {
        self.init(
            id: round.id, siteID: round.siteID, name: round.name, termFirst: round.first.description, termLast: round.last.description,
            deadlineMS: round.deadline, seed: round.seed, priorityOrder: round.order.map(\.rawValue), state: round.state.rawValue,
            offers: offers.map { IntakeOfferMessage($0, roundID: round.id) }, applications: UInt32(applications))
    }
}

extension IntakeOfferMessage {
    init(_ offer: IntakeOffer, roundID: String) {
        self.init(
            id: offer.id, roundID: roundID, groupID: offer.groupID, nurseryID: offer.nurseryID, pattern: offer.pattern.description,
            places: UInt32(offer.places), reservedSOS: UInt32(offer.reservedSOS), reservedLocal: UInt32(offer.reservedLocal))
    }
}
