import Foundation
import SchedulerCore

/// One child's stored result in a round that has run.
public struct IntakeSeatRecord: Sendable, Hashable {
    public var childID: String
    public var offerID: String
    public var seat: SeatKind
    public var choice: Int

    public init(childID: String, offerID: String, seat: SeatKind, choice: Int) {
        self.childID = childID
        self.offerID = offerID
        self.seat = seat
        self.choice = choice
    }
}

/// Intake rounds in the store: rounds, their offers and applications, and the results of the
/// run. The allocation itself runs outside the store (`IntakeAllocator`) on `intakeInputs`;
/// `recordAllocation` stores its result only if the inputs did not change meanwhile.
public protocol IntakeStore: Sendable {
    func createRound(_ round: IntakeRoundInfo, context: MutationContext, reply: @escaping @Sendable (IntakeRoundInfo) throws -> [UInt8]) async throws -> Mutated<IntakeRoundInfo>
    func round(id: String) async throws -> IntakeRoundInfo?
    /// Opens an offer if the group can take all its seats over the round's term, with the
    /// round's other offers of that group.
    func openOffer(_ offer: IntakeOffer, roundID: String, context: MutationContext, reply: @escaping @Sendable (IntakeOffer) throws -> [UInt8]) async throws -> Mutated<IntakeOffer>
    /// Submits or updates applications (an update keeps the first submission time) until the
    /// deadline. `authorize` sees each child's family before anything is written.
    func submitApplications(
        roundID: String, _ applications: [ApplicationInput], context: MutationContext, authorize: @escaping @Sendable ([Family]) throws -> Void,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int>
    func withdrawApplication(roundID: String, childID: String, context: MutationContext, reply: @escaping @Sendable (String) throws -> [UInt8]) async throws -> Mutated<String>
    /// The round, its offers and its applications with the facts priorities need, in one snapshot.
    func intakeInputs(roundID: String) async throws -> IntakeInputs
    /// Stores a run's result and closes the round, if it is still open at `inputsVersion`. The
    /// facts each application was judged on (`applications`, as the run read them) are frozen
    /// with it, so the round's waitlists and explanations stay those of the run even when
    /// placements change later.
    func recordAllocation(
        roundID: String, inputsVersion: Int64, applications: [IntakeApplication], seats: [IntakeSeatRecord], context: MutationContext,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int>
    func intakeResults(roundID: String) async throws -> [IntakeSeatRecord]
    /// The events after the run (releases, answers to waitlist offers), oldest first.
    func intakeEvents(roundID: String) async throws -> [IntakeEventRecord]
    /// Appends events, in order, to a round that has run: all or none. Inside the transaction
    /// (under the round's lock), each new event's instant is moved up to the last stored one's
    /// if it is earlier, so the log's order and its times agree on every server; then `check`
    /// sees the stored events and the new ones as they will be stored, and throws to refuse them.
    func appendIntakeEvents(
        roundID: String, _ events: [IntakeEventRecord], context: MutationContext,
        check: @escaping @Sendable (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void,
        reply: @escaping @Sendable ([IntakeEventRecord]) throws -> [UInt8]
    ) async throws -> Mutated<[IntakeEventRecord]>
}

/// One stored event of a round's waitlist.
public struct IntakeEventRecord: Sendable, Hashable {
    public var event: IntakeEvent
    /// When it happened (milliseconds since 1970).
    public var at: Int64

    public init(event: IntakeEvent, at: Int64) {
        self.event = event
        self.at = at
    }

    /// Stored columns: kind, child, offer, accept.
    var columns: (kind: String, child: String, offer: String?, accept: Bool) {
        switch event {
        case .release(let child): ("release", child, nil, false)
        case .respond(let child, let offer, let accept): ("respond", child, offer, accept)
        case .confirm(let child, let offer): ("confirm", child, offer, false)
        }
    }

    init(kind: String, child: String, offer: String?, accept: Bool, at: Int64) throws {
        switch kind {
        case "release": event = .release(child: child)
        case "respond": event = .respond(child: child, offer: offer ?? "", accept: accept)
        case "confirm": event = .confirm(child: child, offer: offer ?? "")
        default: throw SchedulerStoreError.internal("stored intake event of unknown kind \(kind)")
        }
        self.at = at
    }
}

extension StoreRules {
    /// New events with their instants moved up to the last stored event's, where earlier.
    static func stamped(_ events: [IntakeEventRecord], after stored: [IntakeEventRecord]) -> [IntakeEventRecord] {
        let floor = stored.last?.at ?? Int64.min
        return events.map { IntakeEventRecord(event: $0.event, at: max($0.at, floor)) }
    }

    static func allocatedRound(_ round: IntakeRoundInfo?, _ id: String) throws -> IntakeRoundInfo {
        let round = try require(round, "intake round", id, field: "round_id")
        guard round.state == .allocated else {
            throw SchedulerError(.failedPrecondition, "round \(id) has not run yet", field: "round_id")
        }
        return round
    }

    static func openRound(_ round: IntakeRoundInfo?, _ id: String) throws -> IntakeRoundInfo {
        let round = try require(round, "intake round", id, field: "round_id")
        guard round.state == .open else {
            throw SchedulerError(.failedPrecondition, "round \(id) has already run; its results are final", field: "round_id")
        }
        return round
    }

    static func checkBeforeDeadline(_ round: IntakeRoundInfo, now: Date) throws {
        guard now.millisecondsSince1970 <= round.deadline else {
            throw SchedulerError(.failedPrecondition, "the round's deadline for applications has passed", field: "round_id")
        }
    }

    static func checkOfferFits(_ ledger: CapacityLedger, offers: [IntakeOffer], round: IntakeRoundInfo) throws {
        if let conflict = ledger.intakeViolation(for: offers, first: round.first, last: round.last) {
            let why = conflict.reason == .full ? "the group is full" : "the free places are reserved for the other kind of family"
            throw SchedulerError(
                .failedPrecondition,
                "the group cannot take all the round's offered places: on \(conflict.date) (\(conflict.session.shortName)) \(why)",
                field: "offer.places")
        }
    }

    static func checkApplication(_ input: ApplicationInput, index: Int, offers: Set<String>) throws {
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
    static func checkAges(_ child: Child, ranking: [String], offers: [String: IntakeOffer], groups: [String: Group], round: IntakeRoundInfo, index: Int) throws {
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

    static func checkRunnable(_ round: IntakeRoundInfo, expected version: Int64) throws {
        guard round.inputsVersion == version else {
            throw SchedulerError(.aborted, "the round's offers or applications changed while it ran; run it again", field: "round_id")
        }
    }

    static func application(_ childID: String, ranking: String, submittedAt: Int64, child: Child, family: Family, siblings: Set<String>, frozen: String?) -> IntakeApplication {
        var application = IntakeApplication(
            childID: childID, familyKind: family.kind, siblingNurseries: siblings, specialNeeds: child.specialNeeds, singleParent: family.singleParent,
            parentsWorking: family.parentsWorking, submittedAt: submittedAt, ranking: ranking.split(separator: ",").map(String.init))
        if let frozen { thaw(frozen, into: &application) }
        return application
    }

    /// The facts a run judged an application on, as stored with its result:
    /// `kind|special_needs|single_parent|parents_working|sibling nurseries`.
    static func frozenFacts(_ application: IntakeApplication) -> String {
        [
            application.familyKind.rawValue, application.specialNeeds ? "1" : "0", application.singleParent ? "1" : "0",
            application.parentsWorking ? "1" : "0", application.siblingNurseries.sorted().joined(separator: ","),
        ].joined(separator: "|")
    }

    static func thaw(_ text: String, into application: inout IntakeApplication) {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5 else { return }
        application.familyKind = FamilyKind(rawValue: parts[0]) ?? application.familyKind
        application.specialNeeds = parts[1] == "1"
        application.singleParent = parts[2] == "1"
        application.parentsWorking = parts[3] == "1"
        application.siblingNurseries = Set(parts[4].split(separator: ",").map(String.init))
    }
}
