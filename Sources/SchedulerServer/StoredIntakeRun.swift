import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire
import Synchronization

/// A stored round that has run, read row by row. The run's records (per offer: holders and
/// waiting children; per child: list, result, facts) are loaded as the questions asked about
/// them touch them (`IntakeRunNeeds`), and the waitlist's stored events are replayed over them,
/// so a read of a 100,000-child round costs the rows it touches, never a re-run of the allocation.
struct StoredIntakeRun {
    let store: any Store
    let round: IntakeRoundInfo
    let offers: [IntakeOffer]
    private(set) var loaded = LoadedIntakeRun()
    /// The waitlist now, once `live` has replayed the events.
    private(set) var waitlist: IntakeWaitlist?

    /// The round, checked for the caller's scope before anything else of it is read, and for
    /// having run. A round that ran before run records were kept gets them first (re-derived
    /// from its stored results and the facts frozen with them).
    static func open(_ store: any Store, _ access: NurseryAccess, _ principal: Principal, _ roundID: String) async throws -> StoredIntakeRun {
        guard let round = try await store.round(id: roundID) else {
            throw SchedulerError(.notFound, "no intake round with id \(roundID)", field: "round_id")
        }
        try await access.checkSite(principal, round.siteID)
        return try await open(store, round: round, offers: try await store.intakeOffers(roundID: roundID))
    }

    /// The same for a round (and its offers) already read and checked for the caller's scope.
    static func open(_ store: any Store, round: IntakeRoundInfo, offers: [IntakeOffer]) async throws -> StoredIntakeRun {
        guard round.state == .allocated else {
            throw SchedulerError(.failedPrecondition, "round \(round.id) has not run yet; RunRound with dry_run shows what it would give", field: "round_id")
        }
        if try await !store.hasRunRecords(roundID: round.id) {
            let allocator = try await store.intakeInputs(roundID: round.id).allocator()
            let stored = try await store.intakeResults(roundID: round.id)
            let seats = Dictionary(stored.map { ($0.childID, $0.offerID) }, uniquingKeysWith: { (first: String, _: String) in first })
            let records = allocator.runRecords { seats[$0] }
            try await store.storeLegacyRunRecords(roundID: round.id, children: records.children, offers: records.offers)
        }
        return StoredIntakeRun(store: store, round: round, offers: offers)
    }

    /// Answers `question` over the run, loading the rows it asks for.
    mutating func answer<T>(_ question: (LoadedIntakeRun) throws -> T) async throws -> T {
        while true {
            do {
                return try question(loaded)
            } catch let needs as IntakeRunNeeds {
                try await load(needs)
            }
        }
    }

    /// Answers `question` about the waitlist now (after `live`), loading the rows it asks for.
    mutating func ask<T>(_ question: (IntakeWaitlist) throws -> T) async throws -> T {
        guard var waitlist else { throw SchedulerError(.internal, "the waitlist was read before it was replayed") }
        while true {
            waitlist.source = loaded
            do {
                return try question(waitlist)
            } catch let needs as IntakeRunNeeds {
                try await load(needs)
            }
        }
    }

    /// Loads what `needs` names and is not loaded yet (each load makes progress: ids not found
    /// are remembered as not in the round).
    mutating func load(_ needs: IntakeRunNeeds) async throws {
        let offers = needs.offers.subtracting(loaded.offers.keys).subtracting(loaded.missingOffers)
        if !offers.isEmpty { loaded.add(offers: try await store.intakeRunOffers(roundID: round.id, ids: offers), asked: offers) }
        let children = needs.children.subtracting(loaded.children.keys).subtracting(loaded.missingChildren)
        if !children.isEmpty { loaded.add(children: try await store.intakeRunChildren(roundID: round.id, ids: children), asked: children) }
    }

    /// Loads, in a few queries, the rows events (and the children in `also`) are likely to
    /// touch: the children, the offers they hold, wait for or answer.
    mutating func prefetch(_ events: [IntakeEventRecord], also: Set<String>) async throws {
        var children = also
        var offers = Set<String>()
        for record in events {
            switch record.event {
            case .release(let child): children.insert(child)
            case .respond(let child, let offer, _), .confirm(let child, let offer):
                children.insert(child)
                offers.insert(offer)
            }
        }
        try await load(IntakeRunNeeds(children: children))
        for child in children {
            guard let record = loaded.children[child] else { continue }
            if let seat = record.seat { offers.insert(seat.offerID) }
            offers.formUnion(record.ranking.prefix(record.seat?.choice ?? record.ranking.count))
        }
        try await load(IntakeRunNeeds(offers: offers))
    }

    /// The waitlist now: the stored events replayed over the run, as of `now`.
    @discardableResult
    mutating func live(now: Date, also: Set<String> = []) async throws -> IntakeWaitlist {
        let events = try await store.intakeEvents(roundID: round.id)
        try await prefetch(events, also: also)
        let replayed = try await answer { run in
            try IntakeWaitlist.replay(source: run, events: events.map { ($0.event, $0.at) }, now: now.millisecondsSince1970)
        }
        waitlist = replayed
        return replayed
    }

    /// Every offer's fill now: the run's stored fills, recomputed for the offers the moves touched.
    mutating func fills() async throws -> [OfferFillMessage] {
        let touched = waitlist?.touchedOffers ?? []
        var fills: [OfferFillMessage] = []
        for stored in try await store.intakeRunFills(roundID: round.id) {
            var fill = stored
            if touched.contains(stored.offerID), let now = try await ask({ try $0.offerNow(stored.offerID) }) { fill = IntakeRunFill(now) }
            fills.append(
                OfferFillMessage(
                    offerID: fill.offerID, places: UInt32(fill.places), held: UInt32(fill.held), heldReservedSOS: UInt32(fill.heldReservedSOS),
                    heldReservedLocal: UInt32(fill.heldReservedLocal), waiting: UInt32(fill.waiting)))
        }
        return fills
    }

    /// The children holding a place now, in id order (after `live`). Every applicant's record is
    /// read on the way (the caller goes on to confirm them), so they stay loaded.
    mutating func holdersNow() async throws -> [String] {
        var holders = Set<String>()
        var after: String?
        while true {
            let page = try await store.intakeRunPage(roundID: round.id, after: after, limit: 10_000)
            loaded.add(children: page, asked: [])
            for child in page where child.seat != nil { holders.insert(child.childID) }
            guard page.count == 10_000, let last = page.last else { break }
            after = last.childID
        }
        for (child, seat) in waitlist?.changedSinceRun ?? [:] {
            if seat == nil { holders.remove(child) } else { holders.insert(child) }
        }
        return holders.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Books and confirms the children of `confirmations` in one transaction (see
    /// `IntakeStore.confirmIntakePlacements`): the confirm events are checked by replaying the
    /// stored ones, as `append` does. Rows the replay needs that are not loaded yet are loaded
    /// and the whole confirmation tried again.
    mutating func confirm(
        _ context: CallContext, _ confirmations: [IntakeConfirmation], at: Int64, authorize: @escaping @Sendable (BookingParties) throws -> Void,
        reply: @escaping @Sendable (IntakeConfirmed) throws -> [UInt8]
    ) async throws -> [UInt8] {
        let planned = confirmations.map { $0.event(at: at) }
        try await prefetch(try await store.intakeEvents(roundID: round.id) + planned, also: [])
        while true {
            let source = loaded
            do {
                let outcome = try await store.confirmIntakePlacements(
                    roundID: round.id, confirmations, at: at, context: context.mutation(), authorize: authorize,
                    check: { stored, new in
                        var waitlist = try IntakeWaitlist.replay(source: source, events: stored.map { ($0.event, $0.at) }, now: new.first?.at ?? 0)
                        for event in new { try waitlist.apply(event.event, at: event.at) }
                    }, reply: reply)
                return NurseryService.reply(outcome)
            } catch let needs as IntakeRunNeeds {
                try await load(needs)
            }
        }
    }

    /// Appends events in one transaction after replaying the stored ones with them there (so two
    /// servers cannot both hand out one freed place); the reply is the moves they caused. Rows the
    /// replay touches that are not loaded yet are loaded and the append tried again.
    mutating func append(_ context: CallContext, _ events: [IntakeEventRecord]) async throws -> [UInt8] {
        try await prefetch(try await store.intakeEvents(roundID: round.id) + events, also: [])
        while true {
            let source = loaded
            let caused = Mutex<[IntakeWaitlist.Move]>([])
            let mutation = context.mutation()
            do {
                let outcome = try await store.appendIntakeEvents(
                    roundID: round.id, events, context: mutation,
                    check: { stored, new in
                        // Replayed up to the first new event only: the new events' own expiries happen as they apply.
                        var waitlist = try IntakeWaitlist.replay(source: source, events: stored.map { ($0.event, $0.at) }, now: new.first?.at ?? 0)
                        let before = waitlist.moves.count
                        for event in new { try waitlist.apply(event.event, at: event.at) }
                        caused.withLock { $0 = Array(waitlist.moves[before...]) }
                    },
                    reply: { _ in
                        try WireCodec.encode(MovesResponse(moves: caused.withLock { $0 }.map(IntakeService.message)))
                    })
                return NurseryService.reply(outcome)
            } catch let needs as IntakeRunNeeds {
                try await load(needs)
            }
        }
    }
}
