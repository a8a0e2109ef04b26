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
    let store: any Store

    func register(in registry: inout HandlerRegistry) {
        registerRounds(in: &registry)
        registerRun(in: &registry)
        registerAfterTheRun(in: &registry)
    }

    // MARK: Rounds, offers and applications

    private func registerRounds(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.IntakeService.createRound) { (request: CreateRoundRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.round else { throw SchedulerError(.invalidArgument, "round is required", field: "round") }
            let siteID = try Field.id(message.siteID, "round.site_id")
            try access.checkSiteAdministration(principal, siteID)
            guard message.deadlineMs > 0 else {
                throw SchedulerError(
                    .invalidArgument,
                    "deadline_ms must be above 0: the last instant applications are taken, in milliseconds since 1970 (got \(message.deadlineMs))",
                    field: "round.deadline_ms")
            }
            var seed = message.seed
            if seed == 0 {
                var generator = SystemRandomNumberGenerator()
                seed = UInt64.random(in: 1...UInt64.max, using: &generator)
            }
            let order =
                message.priorityOrder.isEmpty
                ? PriorityCriterion.defaultOrder : try IntakeRoundInfo.order(parsing: message.priorityOrder)
            let round = IntakeRoundInfo(
                id: try Field.id(message.id, "round.id"), siteID: siteID, name: try Field.name(message.name, "round.name", required: false),
                first: try Field.date(message.termFirst, "round.term_first"), last: try Field.date(message.termLast, "round.term_last"),
                deadline: message.deadlineMs, seed: seed, order: order)
            return NurseryService.reply(
                try await store.createRound(round, context: context.mutation()) { try WireCodec.encode(IntakeRoundMessage($0, offers: [], applications: 0)) })
        }

        registry.async(RPC.IntakeService.getRound) { (request: GetRoundRequest, context) in
            let principal = try context.requirePrincipal()
            let id = try Field.id(request.id, "id")
            guard let overview = try await store.roundOverview(id: id) else { throw SchedulerError(.notFound, "no intake round with id \(id)", field: "id") }
            try await access.checkSite(principal, overview.round.siteID)
            return IntakeRoundMessage(overview.round, offers: overview.offers, applications: overview.applications)
        }

        registry.mutating(RPC.IntakeService.openOffer) { (request: OpenOfferRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.offer else { throw SchedulerError(.invalidArgument, "offer is required", field: "offer") }
            let roundID = try Field.id(message.roundID, "offer.round_id")
            let (group, nursery) = try await access.group(try Field.id(message.groupID, "offer.group_id"), field: "offer.group_id")
            try access.checkNursery(principal, nursery)
            guard message.places > 0 else { throw SchedulerError(.invalidArgument, "an offer needs at least one place", field: "offer.places") }
            // Checked before the store locks anything: an offer can never hold more than its group.
            guard Int(message.places) <= group.capacity else {
                throw SchedulerError(
                    .invalidArgument, "an offer of \(message.places) places cannot fit group \(group.id), which holds \(group.capacity) a session",
                    field: "offer.places")
            }
            let offer = IntakeOffer(
                id: try Field.id(message.id, "offer.id"), groupID: group.id, nurseryID: nursery.id,
                pattern: try Field.pattern(message.pattern, "offer.pattern"),
                places: Int(message.places), reservedSOS: Int(message.reservedSOS), reservedLocal: Int(message.reservedLocal))
            return NurseryService.reply(
                try await store.openOffer(offer, roundID: roundID, context: context.mutation()) {
                    try WireCodec.encode(IntakeOfferMessage($0, roundID: roundID))
                })
        }

        registry.mutating(RPC.IntakeService.submitApplications) { (request: SubmitApplicationsRequest, context) in
            let principal = try context.requirePrincipal()
            let roundID = try Field.id(request.roundID, "round_id")
            guard let round = try await store.round(id: roundID) else {
                throw SchedulerError(.notFound, "no intake round with id \(roundID)", field: "round_id")
            }
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
            return NurseryService.reply(
                try await store.submitApplications(roundID: roundID, inputs, context: context.mutation(), authorize: { _ in }) {
                    try WireCodec.encode(SubmitApplicationsResponse(submitted: UInt32($0)))
                })
        }

        registry.mutating(RPC.IntakeService.withdrawApplication) { (request: WithdrawApplicationRequest, context) in
            let principal = try context.requirePrincipal()
            let roundID = try Field.id(request.roundID, "round_id")
            guard let round = try await store.round(id: roundID) else {
                throw SchedulerError(.notFound, "no intake round with id \(roundID)", field: "round_id")
            }
            try await access.checkSite(principal, round.siteID)
            let childID = try Field.id(request.childID, "child_id")
            return NurseryService.reply(
                try await store.withdrawApplication(roundID: roundID, childID: childID, context: context.mutation()) {
                    try WireCodec.encode(WithdrawApplicationResponse(childID: $0))
                })
        }

    }

    // MARK: The run and its results

    private func registerRun(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.IntakeService.runRound) { (request: RunRoundRequest, context) in
            let principal = try context.requirePrincipal()
            let roundID = try Field.id(request.roundID, "round_id")
            // The round's site first (one row), the inputs only for a caller who may run it.
            guard let round = try await store.round(id: roundID) else {
                throw SchedulerError(.notFound, "no intake round with id \(roundID)", field: "round_id")
            }
            try access.checkSiteAdministration(principal, round.siteID)
            let inputs = try await store.intakeInputs(roundID: roundID)
            guard inputs.round.state == .open else {
                throw SchedulerError(.failedPrecondition, "round \(inputs.round.id) has already run; its results are final", field: "round_id")
            }
            // A real run closes the round: before the deadline only when the caller says so (audited).
            let early = context.now().millisecondsSince1970 <= inputs.round.deadline
            if !request.dryRun && early && !request.closeEarly {
                throw SchedulerError(
                    .failedPrecondition,
                    "round \(inputs.round.id) takes applications until \(Date(timeIntervalSince1970: Double(inputs.round.deadline) / 1000)); run it with dry_run to preview, or set close_early to close it now and refuse later applications",
                    field: "close_early")
            }
            let allocator = try inputs.allocator()
            let result = try allocator.runUnlessCancelled()
            let response = Self.summary(allocator, result, dryRun: request.dryRun)
            if request.dryRun {
                // Nothing changes, but every child's application was read: that is audited.
                try await store.recordRead(actor: principal.tokenID, method: context.method, records: ["intake_round:\(inputs.round.id)"], at: context.now())
                return try WireCodec.encode(response)
            }
            let records = allocator.runRecords(in: result)
            return NurseryService.reply(
                try await store.recordAllocation(
                    roundID: inputs.round.id, inputsVersion: inputs.round.inputsVersion, children: records.children, offers: records.offers,
                    closedEarly: early, context: context.mutation()
                ) { _ in try WireCodec.encode(response) })
        }

        registry.async(RPC.IntakeService.getResults) { (request: GetResultsRequest, context) in
            let principal = try context.requirePrincipal()
            let size = try Self.pageSize(request.pageSize)
            var run = try await StoredIntakeRun.open(store, access, principal, try Field.id(request.roundID, "round_id"))
            // The run's rows for the page, with what the moves since have changed.
            let waitlist = try await run.live(now: context.now())
            // The token is the last child id of the previous page.
            let after = request.pageToken.isEmpty ? nil : try Field.id(request.pageToken, "page_token")
            let page = try await store.intakeRunPage(roundID: run.round.id, after: after, limit: size + 1)
            let changed = waitlist.changedSinceRun
            let results = page.prefix(size).map { child -> ChildResultMessage in
                let seat = changed[child.childID] ?? child.seat
                guard let seat else { return ChildResultMessage(childID: child.childID) }
                return ChildResultMessage(childID: child.childID, offerID: seat.offerID, seat: seat.kind.rawValue, choice: UInt32(seat.choice + 1))
            }
            let next = page.count > size ? (page.prefix(size).last?.childID ?? "") : ""
            return GetResultsResponse(results: results, offers: try await run.fills(), nextPageToken: next)
        }

        registry.async(RPC.IntakeService.getWaitlist) { (request: GetWaitlistRequest, context) in
            let principal = try context.requirePrincipal()
            var run = try await StoredIntakeRun.open(store, access, principal, try Field.id(request.roundID, "round_id"))
            let offerID = try Field.id(request.offerID, "offer_id")
            guard run.offers.contains(where: { $0.id == offerID }) else {
                throw SchedulerError(.notFound, "no offer \(offerID) in round \(run.round.id)", field: "offer_id")
            }
            let (size, start) = try Self.page(request.pageSize, request.pageToken)
            // The waitlist as the moves since the run have left it.
            let waitlist = try await run.live(now: context.now())
            let list = try await run.ask { try $0.waitlist(of: offerID) }
            let end = min(list.count, start + size)
            let entries = (min(start, end)..<end).map { WaitlistEntryMessage(position: UInt32($0 + 1), childID: list[$0]) }
            let pending = waitlist.pending.filter { $0.offerID == offerID }.map {
                PendingOfferMessage(childID: $0.childID, seat: $0.seat.rawValue, deadlineMs: $0.deadline)
            }
            return GetWaitlistResponse(entries: entries, pending: pending, nextPageToken: end < list.count ? String(end) : "")
        }

    }

    // MARK: After the run: the waitlists' moves, confirmations, explanations

    private func registerAfterTheRun(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.IntakeService.releaseSeat) { (request: ReleaseSeatRequest, context) in
            let principal = try context.requirePrincipal()
            let event = IntakeEvent.release(child: try Field.id(request.childID, "child_id"))
            return try await Self.append(store, access, principal, context, roundID: try Field.id(request.roundID, "round_id"), event)
        }

        registry.mutating(RPC.IntakeService.respondToOffer) { (request: RespondToOfferRequest, context) in
            let principal = try context.requirePrincipal()
            let event = IntakeEvent.respond(
                child: try Field.id(request.childID, "child_id"), offer: try Field.id(request.offerID, "offer_id"), accept: request.accept)
            return try await Self.append(store, access, principal, context, roundID: try Field.id(request.roundID, "round_id"), event)
        }

        registry.mutating(RPC.IntakeService.confirmPlacements) { (request: ConfirmPlacementsRequest, context) in
            try await PlacementConfirmation(store: store, principal: try context.requirePrincipal()).run(request, context: context)
        }

        registry.async(RPC.IntakeService.listMoves) { (request: ListMovesRequest, context) in
            let principal = try context.requirePrincipal()
            var run = try await StoredIntakeRun.open(store, access, principal, try Field.id(request.roundID, "round_id"))
            let (size, start) = try Self.page(request.pageSize, request.pageToken)
            let moves = try await run.live(now: context.now()).moves
            let end = min(moves.count, start + size)
            return MovesResponse(moves: moves[min(start, end)..<end].map(Self.message), nextPageToken: end < moves.count ? String(end) : "")
        }

        registry.async(RPC.IntakeService.explain) { (request: ExplainRequest, context) in
            let principal = try context.requirePrincipal()
            let roundID = try Field.id(request.roundID, "round_id")
            guard let round = try await store.round(id: roundID) else {
                throw SchedulerError(.notFound, "no intake round with id \(roundID)", field: "round_id")
            }
            try await access.checkSite(principal, round.siteID)
            let offers = try await store.intakeOffers(roundID: roundID)
            let childID = try Field.id(request.childID, "child_id"), offerID = try Field.id(request.offerID, "offer_id")
            guard offers.contains(where: { $0.id == offerID }) else {
                throw SchedulerError(.notFound, "no offer \(offerID) in round \(roundID)", field: "offer_id")
            }
            // An unknown child and a child with no application read the same: nothing tells whether a child id exists.
            let notApplied = SchedulerError(.notFound, "child \(childID) has no application in round \(roundID)", field: "child_id")
            guard let child = try await store.child(id: childID) else { throw notApplied }
            var text: String
            let explanation: IntakeExplanation
            var outcome: String?
            if round.state == .open {
                // Before the run: what a run now would give (the whole round is computed, as a dry run).
                let allocator = try await store.intakeInputs(roundID: roundID).allocator()
                guard let explained = allocator.explain(child: childID, offer: offerID, in: try allocator.runUnlessCancelled()) else { throw notApplied }
                explanation = explained
                text = "If the round ran now: " + explanation.sentence(name: child.givenName)
            } else {
                // After it: the run's stored rows, and what the moves since have changed.
                var run = try await StoredIntakeRun.open(store, round: round, offers: offers)
                let order = round.order
                guard
                    var explained = try await run.answer({ loaded in try IntakeExplanation.explain(child: childID, offer: offerID, run: loaded, order: order) })
                else {
                    throw notApplied
                }
                try await run.live(now: context.now(), also: [childID])
                let ranChild = try await run.answer { loaded in try loaded.runChild(childID) }
                let liveSeat = try await run.ask { try $0.seat(of: childID) }
                explained.waitlistPosition = try await run.ask { try $0.position(of: childID, on: offerID) }
                let waitlist = try await run.ask { $0 }
                let own = waitlist.moves.filter { $0.childID == childID }
                outcome = Self.liveOutcome(explained, ran: ranChild?.seat, now: liveSeat, moves: own, ranking: ranChild?.ranking ?? [])
                explained.sinceRun = Self.sinceRun(child.givenName, own, pendingAt: offerID, waitlist, childID: childID)
                explanation = explained
                text = explanation.sentence(name: child.givenName)
            }
            try await store.recordRead(
                actor: principal.tokenID, method: context.method, records: ["child:\(childID)", "intake_round:\(roundID)"], at: context.now())
            return ExplainResponse(
                outcome: outcome ?? Self.outcome(explanation.outcome), text: text, choice: explanation.choice.map { UInt32($0 + 1) } ?? 0,
                waitlistPosition: UInt32(explanation.waitlistPosition ?? 0), decidingCriteria: explanation.decidedBy.map { [$0.rawValue] } ?? [])
        }
    }

    /// The outcome as things stand now, where the moves since the run changed it: `holds` or
    /// `holds_higher_choice` for the place the child holds now, `gave_up` when the child gave up
    /// a place (from the run or from a waitlist) at this offer or one ranked above it and holds
    /// nothing better now.
    static func liveOutcome(_ explanation: IntakeExplanation, ran: IntakeResult.Seat?, now: IntakeResult.Seat?, moves: [IntakeWaitlist.Move], ranking: [String])
        -> String
    {
        guard let choice = explanation.choice else { return outcome(.didNotApply) }
        if let now {
            if now.offerID == explanation.offerID { return outcome(.holds(now.kind)) }
            if now.choice < choice { return outcome(.heldHigherChoice(offerID: now.offerID, choice: now.choice)) }
        }
        var gaveUp = ran.map { $0.choice <= choice } ?? false
        for move in moves {
            if case .released(_, let offer, _) = move, let rank = ranking.firstIndex(of: offer), rank <= choice { gaveUp = true }
        }
        if gaveUp { return "gave_up" }
        return outcome(explanation.outcome)
    }

    /// What changed for a child since the run, in plain words, from their own moves in order
    /// (nil: nothing).
    static func sinceRun(_ name: String, _ moves: [IntakeWaitlist.Move], pendingAt offerID: String, _ waitlist: IntakeWaitlist, childID: String) -> String? {
        var parts: [String] = []
        for move in moves {
            switch move {
            case .accepted(_, let offer): parts.append("took a place at offer \(offer) from its waitlist")
            case .declined(_, let offer): parts.append("declined a place at offer \(offer)")
            case .expired(_, let offer): parts.append("let an offer of a place at \(offer) lapse")
            case .released(_, let offer, _): parts.append("gave up the place at offer \(offer)")
            case .confirmed(_, let offer): parts.append("had the place at offer \(offer) confirmed as a placement")
            case .offered, .leftFree: continue
            }
        }
        var text = parts.isEmpty ? "" : "Since the run, \(name) " + parts.joined(separator: ", then ") + "."
        if let pending = waitlist.pending(of: childID).first(where: { $0.offerID == offerID }) {
            text +=
                (text.isEmpty ? "" : " ")
                + "\(name) has been offered a place at offer \(offerID) from its waitlist, open until \(Date(timeIntervalSince1970: Double(pending.deadline) / 1000))."
        }
        return text.isEmpty ? nil : text
    }

    /// Appends a family's event if the waitlist, replayed with it in the store's transaction,
    /// accepts it; answers with the moves it caused. The caller's scope must cover the nursery
    /// of the offer the event touches.
    static func append(
        _ store: any Store, _ access: NurseryAccess, _ principal: Principal, _ context: CallContext, roundID: String, _ event: IntakeEvent
    ) async throws -> [UInt8] {
        var run = try await StoredIntakeRun.open(store, access, principal, roundID)
        let offerID: String?
        switch event {
        case .release(let child):
            try await run.live(now: context.now(), also: [child])
            offerID = try await run.ask { try $0.seat(of: child)?.offerID }
        case .respond(_, let offer, _), .confirm(_, let offer): offerID = offer
        }
        if let offerID, let offer = run.offers.first(where: { $0.id == offerID }) {
            try access.checkNursery(principal, try await access.nursery(offer.nurseryID, field: "offer_id"))
        }
        return try await run.append(context, [IntakeEventRecord(event: event, at: context.now().millisecondsSince1970)])
    }

    /// The placement a confirmation booked for a child at an offer, if any.
    /// A page of a list computed whole (waitlists, moves): its size (`pageSize`) and where it
    /// starts (the token is the position to go on from).
    static func page(_ size: UInt32, _ token: String) throws(SchedulerError) -> (size: Int, start: Int) {
        let size = try pageSize(size)
        var start = 0
        if !token.isEmpty {
            guard token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let position = Int(token) else {
                throw SchedulerError(.invalidArgument, "page_token is not one this server gave", field: "page_token")
            }
            start = position
        }
        return (size, start)
    }

    /// An intake page's size: 0 means 1000, at most 10000.
    static func pageSize(_ size: UInt32) throws(SchedulerError) -> Int {
        guard size <= 10_000 else { throw SchedulerError(.invalidArgument, "page_size is over 10000", field: "page_size") }
        return size == 0 ? 1000 : Int(size)
    }

    static func placement(_ store: any Store, child: String, offer: IntakeOffer, round: IntakeRoundInfo) async throws -> Placement? {
        try await store.listPlacements(PlacementFilter(groupID: offer.groupID, childID: child, from: round.first, to: round.last), after: nil, limit: 10)
            .items.first { $0.first == round.first && $0.pattern == offer.pattern }
    }

    static func message(_ move: IntakeWaitlist.Move) -> MoveMessage {
        switch move {
        case .offered(let child, let offer, let seat, let deadline):
            MoveMessage(kind: "offered", childID: child, offerID: offer, seat: seat.rawValue, deadlineMs: deadline)
        case .accepted(let child, let offer): MoveMessage(kind: "accepted", childID: child, offerID: offer)
        case .declined(let child, let offer): MoveMessage(kind: "declined", childID: child, offerID: offer)
        case .expired(let child, let offer): MoveMessage(kind: "expired", childID: child, offerID: offer)
        case .released(let child, let offer, let seat): MoveMessage(kind: "released", childID: child, offerID: offer, seat: seat.rawValue)
        case .leftFree(let offer, let seat): MoveMessage(kind: "left_free", offerID: offer, seat: seat.rawValue)
        case .confirmed(let child, let offer): MoveMessage(kind: "confirmed", childID: child, offerID: offer)
        }
    }

    static func summary(_ allocator: IntakeAllocator, _ result: IntakeResult, dryRun: Bool) -> RunRoundResponse {
        let seats = result.seats
        let fills = allocator.offers.map { offer -> OfferFillMessage in
            let kinds = result.holders(of: offer.id).compactMap { seats[$0]?.kind }
            return OfferFillMessage(
                offerID: offer.id, places: UInt32(offer.places), held: UInt32(kinds.count),
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
            deadlineMs: round.deadline, seed: round.seed, priorityOrder: round.order.map(\.rawValue), state: round.state.rawValue,
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
