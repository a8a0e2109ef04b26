import Foundation

/// Decides the changes to intake rounds (create, open an offer, submit and withdraw
/// applications, store a run, append waitlist events, confirm places) from what a store loaded
/// under its locks. The store then writes what comes back, or throws what these throw: the same
/// decisions and errors for every store.
public enum IntakeDecider {
    /// Offers a round holds at most: GetRound answers with all of them, in one frame.
    public static let maxOffersPerRound = 1000

    // MARK: Rounds

    /// A new round as it is stored (open, at inputs version 0), and the audit records. Its site
    /// must exist, its dates must make sense there (`checkRoundDates`), and its id be new.
    public static func newRound(_ round: IntakeRoundInfo, site: Site?, exists: Bool, now: Date) throws(SchedulerError) -> (
        IntakeRoundInfo, records: [String]
    ) {
        let site = try site.required("site", round.siteID, field: "round.site_id")
        try checkRoundDates(round, site: site, now: now)
        guard !exists else {
            throw SchedulerError(.alreadyExists, "a round with id \(round.id) exists", field: "round.id")
        }
        var round = round
        round.state = .open
        round.inputsVersion = 0
        return (round, ["intake_round:\(round.id)"])
    }

    /// A round's dates make sense for its site: applications close (in the site's zone) before
    /// the term starts, the term has not ended, and it is at most three years long.
    public static func checkRoundDates(_ round: IntakeRoundInfo, site: Site, now: Date) throws(SchedulerError) {
        let today = CivilDate.today(timeZone: site.timeZone, now: now)
        guard round.last >= today else {
            throw SchedulerError(.invalidArgument, "the term ends on \(round.last), before today (\(today)) at site \(site.id)", field: "round.term_last")
        }
        guard round.last.dayNumber - round.first.dayNumber < 3 * 366 else {
            throw SchedulerError(.invalidArgument, "a round's term is at most three years; \(round.first) to \(round.last) is longer", field: "round.term_last")
        }
        let closes = CivilDate(instant: Date(timeIntervalSince1970: Double(round.deadline) / 1000), timeZone: site.timeZone) ?? round.first
        guard closes < round.first else {
            throw SchedulerError(
                .invalidArgument, "applications must close before the term starts (\(round.first)); deadline_ms falls on \(closes) at site \(site.id)",
                field: "round.deadline_ms")
        }
    }

    /// The round, if it exists and is still open (offers and applications may change).
    public static func openRound(_ round: IntakeRoundInfo?, _ id: String) throws(SchedulerError) -> IntakeRoundInfo {
        let round = try round.required("intake round", id, field: "round_id")
        guard round.state == .open else {
            throw SchedulerError(.failedPrecondition, "round \(id) has already run; its results are final", field: "round_id")
        }
        return round
    }

    /// The round, if it exists and has run (waitlist events and confirmations may be added).
    public static func allocatedRound(_ round: IntakeRoundInfo?, _ id: String) throws(SchedulerError) -> IntakeRoundInfo {
        let round = try round.required("intake round", id, field: "round_id")
        guard round.state == .allocated else {
            throw SchedulerError(.failedPrecondition, "round \(id) has not run yet", field: "round_id")
        }
        return round
    }

    /// Applications change only until the round's deadline (inclusive, to the millisecond).
    public static func checkBeforeDeadline(_ round: IntakeRoundInfo, now: Date) throws(SchedulerError) {
        guard now.millisecondsSince1970 <= round.deadline else {
            throw SchedulerError(.failedPrecondition, "the round's deadline for applications has passed", field: "round_id")
        }
    }

    // MARK: Offers

    /// The first half of opening an offer: the round is open, the group exists at the round's
    /// site, the offer's id is new and the round has room for another offer. Returns the round,
    /// the offer with its group's nursery, the group and the nursery; the store then loads the group's ledger and the
    /// offers of every open round on the group for `checkOfferFits`.
    public static func offerTarget(
        _ offer: IntakeOffer, round: IntakeRoundInfo?, roundID: String, group: Group?, nursery: Nursery?, offerExists: Bool, offersInRound: Int
    ) throws(SchedulerError) -> (round: IntakeRoundInfo, offer: IntakeOffer, group: Group, nursery: Nursery) {
        let round = try openRound(round, roundID)
        let group = try group.required("group", offer.groupID, field: "offer.group_id")
        let nursery = try nursery.required("nursery", group.nurseryID, field: "offer.group_id")
        guard nursery.siteID == round.siteID else {
            throw SchedulerError(.failedPrecondition, "group \(group.id) is at site \(nursery.siteID), the round at \(round.siteID)", field: "offer.group_id")
        }
        guard !offerExists else {
            throw SchedulerError(.alreadyExists, "an offer with id \(offer.id) exists", field: "offer.id")
        }
        guard offersInRound < maxOffersPerRound else {
            throw SchedulerError(.failedPrecondition, "round \(roundID) holds \(maxOffersPerRound) offers, the most a round may hold", field: "offer.round_id")
        }
        var offer = offer
        offer.nurseryID = nursery.id
        return (round, offer, group, nursery)
    }

    /// The second half: the offer's pattern covers only the nursery's opening days, and the group
    /// can take every place offered (this offer over `round`'s term, and `others`, the offers
    /// of every round still open on the group, each over its own term) whichever children
    /// fill them. Returns the audit records.
    public static func checkOfferFits(
        _ offer: IntakeOffer, round: IntakeRoundInfo, nursery: Nursery, ledger: CapacityLedger,
        others: [(offer: IntakeOffer, first: CivilDate, last: CivilDate)]
    ) throws(SchedulerError) -> [String] {
        let closed = offer.pattern.weekdays.subtracting(nursery.openWeekdays)
        guard closed.isEmpty else {
            let days = closed.sorted().map(\.shortName).joined(separator: ", ")
            let open = nursery.openWeekdays.sorted().map(\.shortName).joined(separator: ", ")
            throw SchedulerError(.invalidArgument, "pattern includes \(days), but nursery \(nursery.id) opens on \(open) only", field: "offer.pattern")
        }
        if let conflict = ledger.intakeViolation(for: others + [(offer, round.first, round.last)]) {
            let why = conflict.reason == .full ? "the group is full" : "the free places are reserved for the other kind of family"
            throw SchedulerError(
                .failedPrecondition,
                "the group cannot take all the places offered in its open rounds: on \(conflict.date) (\(conflict.session.shortName)) \(why)",
                field: "offer.places")
        }
        return ["intake_offer:\(offer.id)", "intake_round:\(round.id)"]
    }

    // MARK: Applications

    /// Applications accepted: the families for the caller's access check (one per application,
    /// in order), the rows to write (each child once, with the last ranking given; a child who
    /// applied before keeps their first submission time), and the audit records.
    public struct Applications: Sendable {
        public var families: [Family]
        public var rows: [(childID: String, ranking: [String])]
        public var records: [String]
    }

    /// Decides a batch of applications to a round, all or none: the round is open and before its
    /// deadline; each application ranks at least one offer of the round, none twice; its child
    /// is at the round's site (a child elsewhere reads as unknown: nothing about them is said);
    /// and every ranked offer's group takes the child at their age on the term's first day.
    /// `offers` are the round's, `groups` their groups by id, `applicants` the children named
    /// (with their families) by child id.
    public static func applications(
        _ inputs: [ApplicationInput], round: IntakeRoundInfo?, roundID: String, now: Date, offers: [IntakeOffer], groups: [String: Group],
        applicants: [String: (child: Child, family: Family)]
    ) throws(SchedulerError) -> Applications {
        let round = try openRound(round, roundID)
        try checkBeforeDeadline(round, now: now)
        let offerIDs = Set(offers.map(\.id))
        let offersByID = Dictionary(offers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var families: [Family] = []
        for (index, input) in inputs.enumerated() {
            try checkRanking(input, index: index, offers: offerIDs)
            guard let (child, family) = applicants[input.childID], family.siteID == round.siteID else {
                throw SchedulerError(.notFound, "no child with id \(input.childID) at site \(round.siteID)", field: "applications[\(index)].child_id")
            }
            try checkAges(child, ranking: input.ranking, offers: offersByID, groups: groups, round: round, index: index)
            families.append(family)
        }
        var rankings: [String: [String]] = [:]
        var order: [String] = []
        for input in inputs {
            if rankings[input.childID] == nil { order.append(input.childID) }
            rankings[input.childID] = input.ranking
        }
        return Applications(
            families: families, rows: order.map { ($0, rankings[$0] ?? []) },
            records: ["intake_round:\(roundID)"] + inputs.map { "child:\($0.childID)" })
    }

    static func checkRanking(_ input: ApplicationInput, index: Int, offers: Set<String>) throws(SchedulerError) {
        guard !input.ranking.isEmpty else {
            throw SchedulerError(.invalidArgument, "an application ranks at least one offer", field: "applications[\(index)].ranking")
        }
        guard Set(input.ranking).count == input.ranking.count else {
            throw SchedulerError(.invalidArgument, "an offer appears twice in the ranking", field: "applications[\(index)].ranking")
        }
        if let unknown = input.ranking.first(where: { !offers.contains($0) }) {
            throw SchedulerError(.invalidArgument, "\(unknown) is not an offer of this round", field: "applications[\(index)].ranking")
        }
    }

    /// Every ranked offer's group takes the child at their age on the term's first day.
    static func checkAges(
        _ child: Child, ranking: [String], offers: [String: IntakeOffer], groups: [String: Group], round: IntakeRoundInfo, index: Int
    ) throws(SchedulerError) {
        let age = child.birthDate.months(until: round.first)
        for offerID in ranking {
            guard let offer = offers[offerID], let group = groups[offer.groupID] else { continue }
            guard group.accepts(ageMonths: age) else {
                throw SchedulerError(
                    .failedPrecondition,
                    "child \(child.id) will be \(age) months old on \(round.first); offer \(offerID)'s group \(group.id) takes \(group.minAgeMonths) to \(group.maxAgeMonths - 1) months",
                    field: "applications[\(index)].ranking")
            }
        }
    }

    /// A withdrawal: the round must be open and before its deadline. Returns the audit records;
    /// the store deletes the application, and answers `noApplication` if there was none.
    public static func withdrawal(round: IntakeRoundInfo?, roundID: String, childID: String, now: Date) throws(SchedulerError) -> [String] {
        let round = try openRound(round, roundID)
        try checkBeforeDeadline(round, now: now)
        return ["intake_round:\(roundID)", "child:\(childID)"]
    }

    public static func noApplication(childID: String, roundID: String) -> SchedulerError {
        SchedulerError(.notFound, "child \(childID) has no application in round \(roundID)", field: "child_id")
    }

    // MARK: The run and after

    /// A run is stored (and the round closed) only if the round is open and its inputs did not
    /// change since the run read them. Returns how many children got a place, and the audit
    /// records (`closedEarly`: the run came before the deadline, on purpose).
    public static func recordedRun(
        round: IntakeRoundInfo?, roundID: String, inputsVersion: Int64, children: [IntakeRunChild], closedEarly: Bool
    ) throws(SchedulerError) -> (placed: Int, records: [String]) {
        let round = try openRound(round, roundID)
        guard round.inputsVersion == inputsVersion else {
            throw SchedulerError(.aborted, "the round's offers or applications changed while it ran; run it again", field: "round_id")
        }
        let placed = children.filter { $0.seat != nil }.count
        return (placed, ["intake_round:\(roundID)"] + (closedEarly ? ["intake_round_closed_early:\(roundID)"] : []))
    }

    /// New events with their instants moved up to the last stored event's, where earlier, so the
    /// log's order and its times agree.
    public static func stamped(_ events: [IntakeEventRecord], after stored: [IntakeEventRecord]) -> [IntakeEventRecord] {
        let floor = stored.last?.at ?? Int64.min
        return events.map { IntakeEventRecord(event: $0.event, at: max($0.at, floor)) }
    }

    /// Events appended to a round that has run: stamped after `stored`, and accepted by `check`
    /// (the waitlist's replay of the stored events and the new ones). Returns them as they are
    /// stored, and the audit records.
    public static func appended(
        _ events: [IntakeEventRecord], round: IntakeRoundInfo?, roundID: String, stored: [IntakeEventRecord],
        check: (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void
    ) throws -> (events: [IntakeEventRecord], records: [String]) {
        _ = try allocatedRound(round, roundID)
        let events = stamped(events, after: stored)
        try check(stored, events)
        return (events, eventRecords(events, roundID: roundID))
    }

    static func eventRecords(_ events: [IntakeEventRecord], roundID: String) -> [String] {
        ["intake_round:\(roundID)"] + events.map { "child:\($0.childID)" }
    }

    /// The confirm events of `confirmations`, stamped after `stored`.
    public static func confirmEvents(_ confirmations: [IntakeConfirmation], at: Int64, stored: [IntakeEventRecord]) -> [IntakeEventRecord] {
        stamped(confirmations.map { $0.event(at: at) }, after: stored)
    }

    /// The confirmations whose events replay after `stored`: all of them, or, when the batch
    /// does not, each in turn after those accepted before it; the others are refused with
    /// `check`'s reason. Only FAILED_PRECONDITION refuses one child: any other error fails all.
    public static func replayable(
        _ confirmations: [IntakeConfirmation], round: IntakeRoundInfo?, roundID: String, at: Int64, stored: [IntakeEventRecord],
        check: (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void
    ) throws -> (accepted: [IntakeConfirmation], refused: [IntakeConfirmed.Refused]) {
        _ = try allocatedRound(round, roundID)
        func events(_ list: [IntakeConfirmation]) -> [IntakeEventRecord] { confirmEvents(list, at: at, stored: stored) }
        do {
            try check(stored, events(confirmations))
            return (confirmations, [])
        } catch let error as SchedulerError where error.code == .failedPrecondition {
            var accepted: [IntakeConfirmation] = [], refused: [IntakeConfirmed.Refused] = []
            for confirmation in confirmations {
                do {
                    try check(stored, events(accepted + [confirmation]))
                    accepted.append(confirmation)
                } catch let refusal as SchedulerError where refusal.code == .failedPrecondition {
                    refused.append(IntakeConfirmed.Refused(childID: confirmation.childID, reason: refusal.message))
                }
            }
            return (accepted, refused)
        }
    }

    /// Why a confirmation's booking was refused, for `IntakeConfirmed.refused`; nil for an error
    /// that must fail the whole confirmation (a broken store, say).
    public static func bookingRefusal(_ error: any Error) -> String? {
        switch error {
        case let refusal as BookingRefused:
            return "the group has no room any more: \(refusal.conflicts.first.map { "\($0.date) \($0.session.shortName) is full" } ?? "full")"
        case let error as SchedulerError where ![.internal, .unavailable, .deadlineExceeded, .cancelled, .dataLoss].contains(error.code):
            return error.message
        default:
            return nil
        }
    }

    /// The events of the confirmations that were booked (`booked`, of `accepted`), as stored, and
    /// the audit records (the bookings' own come first, in `bookingRecords`). When some accepted
    /// ones were not booked, the rest are checked again on their own.
    public static func confirmed(
        booked: [IntakeConfirmation], accepted: [IntakeConfirmation], roundID: String, at: Int64, stored: [IntakeEventRecord], bookingRecords: [String],
        check: (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void
    ) throws -> (events: [IntakeEventRecord], records: [String]) {
        let events = confirmEvents(booked, at: at, stored: stored)
        if events.count != accepted.count { try check(stored, events) }
        return (events, ["intake_round:\(roundID)"] + bookingRecords + events.map { "child:\($0.childID)" })
    }
}

extension IntakeEventRecord {
    /// The child the event is about.
    public var childID: String {
        switch event {
        case .release(let child), .respond(let child, _, _), .confirm(let child, _): child
        }
    }
}
