import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// `IntakeService/ConfirmPlacements` as a type of its own, so a test can drive it without a
/// socket: which children a call confirms (named, or every holder a page at a time), who can
/// be confirmed (reads only), then every placement and its confirmation in one transaction.
struct PlacementConfirmation {
    /// Children one call confirms at most (one transaction).
    static let page = 1000

    let store: any Store
    let access: NurseryAccess
    let principal: Principal

    init(store: any Store, principal: Principal) {
        self.store = store
        self.access = NurseryAccess(store: store)
        self.principal = principal
    }

    /// The encoded `ConfirmPlacementsResponse` (stored with the call's idempotency key).
    func run(_ request: ConfirmPlacementsRequest, context: CallContext) async throws -> [UInt8] {
        var run = try await StoredIntakeRun.open(store, access, principal, try Field.id(request.roundID, "round_id"))
        guard request.childIDs.count <= Self.page else {
            throw SchedulerError(.invalidArgument, "child_ids holds \(request.childIDs.count) children; at most \(Self.page) a call", field: "child_ids")
        }
        if !request.pageToken.isEmpty { _ = try Field.id(request.pageToken, "page_token") }
        guard request.pageToken.isEmpty || request.childIDs.isEmpty else {
            throw SchedulerError(.invalidArgument, "page_token pages through all holders: give it without child_ids", field: "page_token")
        }
        var children: [String] = []
        for (index, child) in request.childIDs.enumerated() { children.append(try Field.id(child, "child_ids[\(index)]")) }
        let waitlist = try await run.live(now: context.now(), also: Set(children))
        var next = ""
        if children.isEmpty {
            (children, next) = try await Self.holdersPage(&run, after: request.pageToken)
        }
        var (response, confirmations) = try await decide(children, run: &run, waitlist: waitlist)
        response.nextPageToken = next
        guard !confirmations.isEmpty else { return try WireCodec.encode(response) }
        let decided = response
        let (access, principal) = (self.access, self.principal)
        return try await run.confirm(
            context, confirmations, at: context.now().millisecondsSince1970,
            authorize: { parties in try access.checkNursery(principal, parties.nursery) },
            reply: { done in
                var response = decided
                response.confirmed += done.placed.map { ConfirmedPlacementMessage(childID: $0.childID, offerID: $0.offerID, placementID: $0.placementID) }
                response.refused += done.refused.map { RefusedConfirmationMessage(childID: $0.childID, reason: $0.reason) }
                return try WireCodec.encode(response)
            })
    }

    /// Every holder after `token`, a page of them in child-id order (bytes), and the token of
    /// the next page ("" when this is the last).
    static func holdersPage(_ run: inout StoredIntakeRun, after token: String) async throws -> (children: [String], next: String) {
        let holders = try await run.holdersNow()
        let start = token.isEmpty ? 0 : (holders.firstIndex { token.utf8.lexicographicallyPrecedes($0.utf8) } ?? holders.count)
        let children = Array(holders[start..<min(holders.count, start + page)])
        let next = start + page < holders.count ? (children.last ?? "") : ""
        return (children, next)
    }

    /// Who can be confirmed, read only: the children refused or already confirmed go into the
    /// response, the rest become the bookings to make.
    func decide(_ children: [String], run: inout StoredIntakeRun, waitlist: IntakeWaitlist) async throws -> (ConfirmPlacementsResponse, [IntakeConfirmation]) {
        let offers = Dictionary(uniqueKeysWithValues: run.offers.map { ($0.id, $0) })
        let round = run.round
        var response = ConfirmPlacementsResponse()
        var confirmations: [IntakeConfirmation] = []
        for child in children {
            guard let seat = try await run.ask({ try $0.seat(of: child) }), let offer = offers[seat.offerID] else {
                response.refused.append(RefusedConfirmationMessage(childID: child, reason: "holds no place in this round"))
                continue
            }
            // Confirming declines the child's open waitlist offers: each must be at a nursery in the caller's scope.
            var outside: String?
            for pending in waitlist.pending(of: child) {
                guard let at = offers[pending.offerID] else { continue }
                do { try access.checkNursery(principal, try await access.nursery(at.nurseryID, field: "child_ids")) } catch { outside = pending.offerID }
            }
            if let outside {
                response.refused.append(
                    RefusedConfirmationMessage(
                        childID: child,
                        reason:
                            "has an open waitlist offer of \(outside) at a nursery outside your scope; the family answers it first, or a manager of the site confirms"
                    ))
                continue
            }
            if waitlist.confirmed.contains(child) {
                // Confirming is idempotent: a confirmed child is reported with their placement,
                // unless that placement has been cancelled since.
                if let existing = try await IntakeService.placement(store, child: child, offer: offer, round: round) {
                    response.confirmed.append(ConfirmedPlacementMessage(childID: child, offerID: offer.id, placementID: existing.id))
                } else {
                    response.refused.append(
                        RefusedConfirmationMessage(
                            childID: child,
                            reason: "was confirmed at \(offer.id), but that placement is no longer active (cancelled or ended); book again with place book"))
                }
                continue
            }
            confirmations.append(
                IntakeConfirmation(
                    childID: child, offerID: offer.id,
                    booking: BookingInput(childID: child, groupID: offer.groupID, first: round.first, last: round.last, pattern: offer.pattern)))
        }
        return (response, confirmations)
    }
}
