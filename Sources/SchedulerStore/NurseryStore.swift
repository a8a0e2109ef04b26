import Foundation
import SchedulerCore

/// One page of a listing and the cursor of the next (nil at the end).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}

/// Which placements to list: those of a nursery, group or child that overlap a date range.
public struct PlacementFilter: Sendable, Hashable {
    public var nurseryID: String?
    public var groupID: String?
    public var childID: String?
    public var from: CivilDate?
    public var to: CivilDate?
    public var includeCancelled: Bool

    public init(
        nurseryID: String? = nil, groupID: String? = nil, childID: String? = nil, from: CivilDate? = nil, to: CivilDate? = nil, includeCancelled: Bool = false
    ) {
        self.nurseryID = nurseryID
        self.groupID = groupID
        self.childID = childID
        self.from = from
        self.to = to
        self.includeCancelled = includeCancelled
    }
}

/// The nursery side of the store. Every change is audited and idempotent like the rest
/// (`MutationContext`); updates take a closure that changes the stored record inside the
/// transaction, after which the store checks that the capacity invariant still holds.
public protocol NurseryStore: Sendable {
    func createSite(_ site: Site, context: MutationContext, reply: @escaping @Sendable (Site) throws -> [UInt8]) async throws -> Mutated<Site>
    func site(id: String) async throws -> Site?
    func listSites(after: String?, limit: Int) async throws -> Page<Site>
    func updateSite(
        id: String, context: MutationContext, reply: @escaping @Sendable (Site) throws -> [UInt8], _ change: @escaping @Sendable (inout Site) throws -> Void
    ) async throws -> Mutated<Site>

    func createNursery(_ nursery: Nursery, context: MutationContext, reply: @escaping @Sendable (Nursery) throws -> [UInt8]) async throws -> Mutated<Nursery>
    func nursery(id: String) async throws -> Nursery?
    func listNurseries(siteID: String?, after: String?, limit: Int) async throws -> Page<Nursery>
    func updateNursery(
        id: String, context: MutationContext, reply: @escaping @Sendable (Nursery) throws -> [UInt8],
        _ change: @escaping @Sendable (inout Nursery) throws -> Void
    ) async throws -> Mutated<Nursery>

    func createGroup(_ group: Group, context: MutationContext, reply: @escaping @Sendable (Group) throws -> [UInt8]) async throws -> Mutated<Group>
    func group(id: String) async throws -> Group?
    func listGroups(nurseryID: String, after: String?, limit: Int) async throws -> Page<Group>
    func updateGroup(
        id: String, context: MutationContext, reply: @escaping @Sendable (Group) throws -> [UInt8], _ change: @escaping @Sendable (inout Group) throws -> Void
    ) async throws -> Mutated<Group>

    /// Registers a family; the store gives it its id.
    func registerFamily(_ family: Family, context: MutationContext, reply: @escaping @Sendable (Family) throws -> [UInt8]) async throws -> Mutated<Family>
    func family(id: String) async throws -> Family?
    func listFamilies(siteID: String, after: String?, limit: Int) async throws -> Page<Family>
    func updateFamily(
        id: String, context: MutationContext, reply: @escaping @Sendable (Family) throws -> [UInt8], _ change: @escaping @Sendable (inout Family) throws -> Void
    ) async throws -> Mutated<Family>

    /// Registers a child; the store gives it its id.
    func registerChild(_ child: Child, context: MutationContext, reply: @escaping @Sendable (Child) throws -> [UInt8]) async throws -> Mutated<Child>
    func child(id: String) async throws -> Child?
    func listChildren(familyID: String?, siteID: String?, after: String?, limit: Int) async throws -> Page<Child>
    func updateChild(
        id: String, context: MutationContext, reply: @escaping @Sendable (Child) throws -> [UInt8], _ change: @escaping @Sendable (inout Child) throws -> Void
    ) async throws -> Mutated<Child>

    /// Books a placement if it fits; throws `BookingRefused` (nothing written) if it does not.
    /// `authorize` sees the records involved, inside the transaction, before anything is decided.
    func bookPlace(
        _ booking: BookingInput, context: MutationContext, authorize: @escaping @Sendable (BookingParties) throws -> Void,
        reply: @escaping @Sendable (Placement) throws -> [UInt8]
    ) async throws -> Mutated<Placement>
    /// Ends a placement early: its last day becomes the day before `from` (`pastDays`: whether
    /// `from` may lie before today in the site's zone).
    func endPlacement(id: String, from: CivilDate, pastDays: PastDays, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8])
        async throws -> Mutated<Placement>
    /// Cancels a placement whose first day is after today (in its site's zone), or, as a
    /// correction (`pastDays`), one that has started.
    func cancelPlacement(id: String, pastDays: PastDays, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8]) async throws
        -> Mutated<Placement>
    func placement(id: String) async throws -> Placement?
    func listPlacements(_ filter: PlacementFilter, after: String?, limit: Int) async throws -> Page<Placement>
    /// Occupancy of every group and session on each open day of `from...to`.
    func occupancy(nurseryID: String, from: CivilDate, to: CivilDate) async throws -> [OccupancyDay]

    /// Appends an audit entry for a read of personal records (a child's, say).
    func recordRead(actor: String?, method: String, records: [String], at: Date) async throws
}

extension NurseryStore {
    /// Ends a placement early, with no check against today.
    public func endPlacement(id: String, from: CivilDate, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8]) async throws
        -> Mutated<Placement>
    {
        try await endPlacement(id: id, from: from, pastDays: .allowed, context: context, reply: reply)
    }

    /// Cancels a placement whose first day is after today.
    public func cancelPlacement(id: String, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8]) async throws -> Mutated<
        Placement
    > {
        try await cancelPlacement(id: id, pastDays: .allowed, context: context, reply: reply)
    }
}

/// The records a booking involves, for the caller's access check.
public struct BookingParties: Sendable {
    public var child: Child
    public var family: Family
    public var group: Group
    public var nursery: Nursery
}
