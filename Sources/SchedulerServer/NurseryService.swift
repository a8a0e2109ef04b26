import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// `sos.scheduler.v1.NurseryService`: sites, nurseries, groups, families, children, placements.
struct NurseryService {
    let store: any Store

    func register(in registry: inout HandlerRegistry) {
        registerSites(in: &registry)
        registerNurseries(in: &registry)
        registerGroups(in: &registry)
        registerFamilies(in: &registry)
        registerChildren(in: &registry)
        registerPlacements(in: &registry)
    }

    // MARK: Sites

    private func registerSites(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.NurseryService.createSite) { (request: CreateSiteRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.site else { throw SchedulerError(.invalidArgument, "site is required", field: "site") }
            let site = try message.core()
            _ = principal
            return Self.reply(try await store.createSite(site, context: context.mutation()) { try WireCodec.encode(SiteMessage($0)) })
        }

        registry.async(RPC.NurseryService.getSite) { (request: GetSiteRequest, context) in
            let principal = try context.requirePrincipal()
            try await access.checkSite(principal, request.id)
            guard let site = try await store.site(id: request.id) else {
                throw SchedulerError(.notFound, "no site with id \(request.id)", field: "id")
            }
            return SiteMessage(site)
        }

        registry.async(RPC.NurseryService.listSites) { (request: ListSitesRequest, context) in
            let principal = try context.requirePrincipal()
            let page = try await store.listSites(after: Self.cursor(request.pageToken), limit: try Self.pageSize(request.pageSize))
            var visible: [Site] = []
            for site in page.items where (try? await access.checkSite(principal, site.id)) != nil { visible.append(site) }
            return ListSitesResponse(sites: visible.map(SiteMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.NurseryService.updateSite) { (request: UpdateSiteRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.site else { throw SchedulerError(.invalidArgument, "site is required", field: "site") }
            let mask = try Field.mask(request.updateMask, allowed: ["name", "time_zone"])
            let id = try Field.id(message.id, "site.id")
            try access.checkSiteAdministration(principal, id)
            let name = mask.contains("name") ? try Field.name(message.name, "site.name") : nil
            let zone = mask.contains("time_zone") ? try Field.timeZone(message.timeZone, "site.time_zone") : nil
            return Self.reply(
                try await store.updateSite(id: id, context: context.mutation(), reply: { try WireCodec.encode(SiteMessage($0)) }) { site in
                    if let name { site.name = name }
                    if let zone { site.timeZone = zone }
                })
        }
    }

    // MARK: Nurseries

    private func registerNurseries(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.NurseryService.createNursery) { (request: CreateNurseryRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.nursery else { throw SchedulerError(.invalidArgument, "nursery is required", field: "nursery") }
            let nursery = try message.core()
            try access.checkSiteAdministration(principal, nursery.siteID)
            return Self.reply(try await store.createNursery(nursery, context: context.mutation()) { try WireCodec.encode(NurseryMessage($0)) })
        }

        registry.async(RPC.NurseryService.getNursery) { (request: GetNurseryRequest, context) in
            let principal = try context.requirePrincipal()
            let nursery = try await access.nursery(request.id, field: "id")
            try access.checkNursery(principal, nursery)
            return NurseryMessage(nursery)
        }

        registry.async(RPC.NurseryService.listNurseries) { (request: ListNurseriesRequest, context) in
            let principal = try context.requirePrincipal()
            let page = try await store.listNurseries(
                siteID: request.siteID.isEmpty ? nil : request.siteID, after: Self.cursor(request.pageToken), limit: try Self.pageSize(request.pageSize))
            let visible = page.items.filter { (try? access.checkNursery(principal, $0)) != nil }
            return ListNurseriesResponse(nurseries: visible.map(NurseryMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.NurseryService.updateNursery) { (request: UpdateNurseryRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.nursery else { throw SchedulerError(.invalidArgument, "nursery is required", field: "nursery") }
            let mask = try Field.mask(request.updateMask, allowed: ["name", "open_weekdays", "closures", "morning", "afternoon"])
            let existing = try await access.nursery(message.id, field: "nursery.id")
            try access.checkNursery(principal, existing)
            let name = mask.contains("name") ? try Field.name(message.name, "nursery.name") : existing.name
            let weekdays = mask.contains("open_weekdays") ? try message.weekdays() : existing.openWeekdays
            guard !weekdays.isEmpty else {
                throw SchedulerError(.invalidArgument, "open_weekdays must name at least one day", field: "nursery.open_weekdays")
            }
            let closures = mask.contains("closures") ? try message.closureDates() : existing.closures
            let morning = mask.contains("morning") ? try NurseryMessage.times(message.morning, "nursery.morning", existing.morning) : existing.morning
            let afternoon =
                mask.contains("afternoon") ? try NurseryMessage.times(message.afternoon, "nursery.afternoon", existing.afternoon) : existing.afternoon
            return Self.reply(
                try await store.updateNursery(id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(NurseryMessage($0)) }) { nursery in
                    nursery.name = name
                    nursery.openWeekdays = weekdays
                    nursery.closures = closures
                    nursery.morning = morning
                    nursery.afternoon = afternoon
                })
        }
    }

    // MARK: Groups

    private func registerGroups(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.NurseryService.createGroup) { (request: CreateGroupRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.group else { throw SchedulerError(.invalidArgument, "group is required", field: "group") }
            let group = try message.core()
            try access.checkNursery(principal, try await access.nursery(group.nurseryID, field: "group.nursery_id"))
            return Self.reply(try await store.createGroup(group, context: context.mutation()) { try WireCodec.encode(GroupMessage($0)) })
        }

        registry.async(RPC.NurseryService.getGroup) { (request: GetGroupRequest, context) in
            let principal = try context.requirePrincipal()
            let (group, nursery) = try await access.group(request.id, field: "id")
            try access.checkNursery(principal, nursery)
            return GroupMessage(group)
        }

        registry.async(RPC.NurseryService.listGroups) { (request: ListGroupsRequest, context) in
            let principal = try context.requirePrincipal()
            let nursery = try await access.nursery(try Field.id(request.nurseryID, "nursery_id"), field: "nursery_id")
            try access.checkNursery(principal, nursery)
            let page = try await store.listGroups(nurseryID: nursery.id, after: Self.cursor(request.pageToken), limit: try Self.pageSize(request.pageSize))
            return ListGroupsResponse(groups: page.items.map(GroupMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.NurseryService.updateGroup) { (request: UpdateGroupRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.group else { throw SchedulerError(.invalidArgument, "group is required", field: "group") }
            let mask = try Field.mask(
                request.updateMask, allowed: ["name", "min_age_months", "max_age_months", "capacity", "reserved_sos", "reserved_local"])
            let (existing, nursery) = try await access.group(message.id, field: "group.id")
            try access.checkNursery(principal, nursery)
            let name = mask.contains("name") ? try Field.name(message.name, "group.name") : existing.name
            return Self.reply(
                try await store.updateGroup(id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(GroupMessage($0)) }) { group in
                    group.name = name
                    if mask.contains("min_age_months") { group.minAgeMonths = Int(message.minAgeMonths) }
                    if mask.contains("max_age_months") { group.maxAgeMonths = Int(message.maxAgeMonths) }
                    if mask.contains("capacity") { group.capacity = Int(message.capacity) }
                    if mask.contains("reserved_sos") { group.reservedSOS = Int(message.reservedSOS) }
                    if mask.contains("reserved_local") { group.reservedLocal = Int(message.reservedLocal) }
                    do { try group.validate() } catch let error as SchedulerError {
                        throw SchedulerError(.invalidArgument, error.message, field: error.field.map { "group.\($0)" })
                    }
                })
        }
    }

    // MARK: Families

    private func registerFamilies(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.NurseryService.registerFamily) { (request: RegisterFamilyRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.family else { throw SchedulerError(.invalidArgument, "family is required", field: "family") }
            let family = try message.core()
            try await access.checkSite(principal, family.siteID)
            return Self.reply(try await store.registerFamily(family, context: context.mutation()) { try WireCodec.encode(FamilyMessage($0)) })
        }

        registry.async(RPC.NurseryService.getFamily) { (request: GetFamilyRequest, context) in
            let principal = try context.requirePrincipal()
            let family = try await access.family(request.id, field: "id")
            try await access.checkSite(principal, family.siteID)
            return FamilyMessage(family)
        }

        registry.async(RPC.NurseryService.listFamilies) { (request: ListFamiliesRequest, context) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            try await access.checkSite(principal, site)
            let page = try await store.listFamilies(siteID: site, after: Self.cursor(request.pageToken), limit: try Self.pageSize(request.pageSize))
            return ListFamiliesResponse(families: page.items.map(FamilyMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.NurseryService.updateFamily) { (request: UpdateFamilyRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.family else { throw SchedulerError(.invalidArgument, "family is required", field: "family") }
            let mask = try Field.mask(request.updateMask, allowed: ["kind", "single_parent", "parents_working", "contact_ref"])
            let existing = try await access.family(message.id, field: "family.id")
            try await access.checkSite(principal, existing.siteID)
            let kind = mask.contains("kind") ? try message.kind.core("family.kind") : existing.kind
            let contact = mask.contains("contact_ref") ? try Field.name(message.contactRef, "family.contact_ref", required: false) : existing.contactRef
            return Self.reply(
                try await store.updateFamily(id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(FamilyMessage($0)) }) { family in
                    family.kind = kind
                    family.contactRef = contact
                    if mask.contains("single_parent") { family.singleParent = message.singleParent }
                    if mask.contains("parents_working") { family.parentsWorking = message.parentsWorking }
                })
        }
    }

    // MARK: Children

    private func registerChildren(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.NurseryService.registerChild) { (request: RegisterChildRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.child else { throw SchedulerError(.invalidArgument, "child is required", field: "child") }
            let child = try message.core()
            let family = try await access.family(child.familyID, field: "child.family_id")
            try await access.checkSite(principal, family.siteID)
            return Self.reply(try await store.registerChild(child, context: context.mutation()) { try WireCodec.encode(ChildMessage($0)) })
        }

        registry.async(RPC.NurseryService.getChild) { (request: GetChildRequest, context) in
            let principal = try context.requirePrincipal()
            let (child, family) = try await access.child(request.id, field: "id")
            try await access.checkSite(principal, family.siteID)
            // Reads of a child's record are audited too.
            try await store.recordRead(actor: principal.tokenID, method: context.method, records: ["child:\(child.id)"], at: context.now())
            return ChildMessage(child)
        }

        registry.async(RPC.NurseryService.listChildren) { (request: ListChildrenRequest, context) in
            let principal = try context.requirePrincipal()
            var siteID: String? = request.siteID.isEmpty ? nil : try Field.id(request.siteID, "site_id")
            if !request.familyID.isEmpty {
                let family = try await access.family(request.familyID, field: "family_id")
                siteID = family.siteID
            }
            guard let site = siteID else {
                throw SchedulerError(.invalidArgument, "give family_id or site_id", field: "site_id")
            }
            try await access.checkSite(principal, site)
            let page = try await store.listChildren(
                familyID: request.familyID.isEmpty ? nil : request.familyID, siteID: site, after: Self.cursor(request.pageToken),
                limit: try Self.pageSize(request.pageSize))
            try await store.recordRead(actor: principal.tokenID, method: context.method, records: page.items.map { "child:\($0.id)" }, at: context.now())
            return ListChildrenResponse(children: page.items.map(ChildMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.NurseryService.updateChild) { (request: UpdateChildRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.child else { throw SchedulerError(.invalidArgument, "child is required", field: "child") }
            let mask = try Field.mask(request.updateMask, allowed: ["given_name", "birth_date", "special_needs"])
            let (existing, family) = try await access.child(message.id, field: "child.id")
            try await access.checkSite(principal, family.siteID)
            let name = mask.contains("given_name") ? try Field.name(message.givenName, "child.given_name") : existing.givenName
            let birth = mask.contains("birth_date") ? try Field.date(message.birthDate, "child.birth_date") : existing.birthDate
            return Self.reply(
                try await store.updateChild(id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(ChildMessage($0)) }) { child in
                    child.givenName = name
                    child.birthDate = birth
                    if mask.contains("special_needs") { child.specialNeeds = message.specialNeeds }
                })
        }
    }

    // MARK: Placements

    private func registerPlacements(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = NurseryAccess(store: store)

        registry.mutating(RPC.NurseryService.bookPlace) { (request: BookPlaceRequest, context) in
            let principal = try context.requirePrincipal()
            let childID = try Field.id(request.childID, "child_id")
            let groupID = try Field.id(request.groupID, "group_id")
            let first = try Field.date(request.firstDay, "first_day")
            let last = try Field.optionalDate(request.lastDay, "last_day")
            let pattern = try Field.pattern(request.pattern)
            // A manager books from today on; a first day before it is a correction of the records.
            let booking = BookingInput(
                childID: childID, groupID: groupID, first: first, last: last, pattern: pattern, pastDays: request.correction ? .correction : .refused)
            // The records are read and checked in the booking's own transaction: one trip to the store.
            let outcome = try await store.bookPlace(
                booking, context: context.mutation(),
                authorize: { parties in
                    try access.checkNursery(principal, parties.nursery)
                    try access.checkSite(principal, parties.family.siteID, at: parties.nursery)
                },
                reply: { placement in
                    try WireCodec.encode(PlacementMessage(placement, nurseryID: placement.nurseryID))
                })
            return Self.reply(outcome)
        }

        registry.mutating(RPC.NurseryService.endPlacement) { (request: EndPlacementRequest, context) in
            let principal = try context.requirePrincipal()
            let from = try Field.date(request.fromDay, "from_day")
            let nursery = try await Self.placementInScope(store, access, try Field.id(request.id, "id"), principal)
            return Self.reply(
                try await store.endPlacement(
                    id: request.id, from: from, pastDays: request.correction ? .correction : .refused, context: context.mutation()
                ) { try WireCodec.encode(PlacementMessage($0, nurseryID: nursery.id)) })
        }

        registry.mutating(RPC.NurseryService.cancelPlacement) { (request: CancelPlacementRequest, context) in
            let principal = try context.requirePrincipal()
            let nursery = try await Self.placementInScope(store, access, try Field.id(request.id, "id"), principal)
            return Self.reply(
                try await store.cancelPlacement(
                    id: request.id, pastDays: request.correction ? .correction : .refused, context: context.mutation()
                ) { try WireCodec.encode(PlacementMessage($0, nurseryID: nursery.id)) })
        }

        registry.async(RPC.NurseryService.listPlacements) { (request: ListPlacementsRequest, context) in
            let principal = try context.requirePrincipal()
            var filter = PlacementFilter(
                from: try Field.optionalDate(request.fromDay, "from_day"), to: try Field.optionalDate(request.toDay, "to_day"),
                includeCancelled: request.includeCancelled)
            var nurseryIDs: [String: String] = [:]
            if !request.groupID.isEmpty {
                let (group, nursery) = try await access.group(request.groupID, field: "group_id")
                try access.checkNursery(principal, nursery)
                filter.groupID = group.id
                nurseryIDs[group.id] = nursery.id
            }
            if !request.nurseryID.isEmpty {
                let nursery = try await access.nursery(request.nurseryID, field: "nursery_id")
                try access.checkNursery(principal, nursery)
                filter.nurseryID = nursery.id
            }
            if !request.childID.isEmpty {
                let (child, family) = try await access.child(request.childID, field: "child_id")
                try await access.checkSite(principal, family.siteID)
                filter.childID = child.id
            }
            guard filter.groupID != nil || filter.nurseryID != nil || filter.childID != nil else {
                throw SchedulerError(.invalidArgument, "give nursery_id, group_id or child_id", field: "nursery_id")
            }
            let page = try await store.listPlacements(filter, after: Self.cursor(request.pageToken), limit: try Self.pageSize(request.pageSize))
            var placements: [PlacementMessage] = []
            for placement in page.items {
                if nurseryIDs[placement.groupID] == nil {
                    let (_, nursery) = try await access.group(placement.groupID, field: "group_id")
                    // A child's placements elsewhere are listed only where the caller may see that nursery.
                    guard (try? access.checkNursery(principal, nursery)) != nil else { continue }
                    nurseryIDs[placement.groupID] = nursery.id
                }
                placements.append(PlacementMessage(placement, nurseryID: nurseryIDs[placement.groupID] ?? ""))
            }
            return ListPlacementsResponse(placements: placements, nextPageToken: page.next ?? "")
        }

        registry.async(RPC.NurseryService.getOccupancy) { (request: GetOccupancyRequest, context) in
            let principal = try context.requirePrincipal()
            let nursery = try await access.nursery(try Field.id(request.nurseryID, "nursery_id"), field: "nursery_id")
            try access.checkNursery(principal, nursery)
            let from = try Field.date(request.fromDay, "from_day")
            let to = try Field.date(request.toDay, "to_day")
            guard to >= from else { throw SchedulerError(.invalidArgument, "to_day is before from_day", field: "to_day") }
            guard to.dayNumber - from.dayNumber < 366 else {
                throw SchedulerError(.invalidArgument, "at most 366 days at a time", field: "to_day")
            }
            let days = try await store.occupancy(nurseryID: nursery.id, from: from, to: to)
            return GetOccupancyResponse(
                days: days.map { day in
                    OccupancyDayMessage(
                        date: day.date.description,
                        sessions: day.sessions.map { entry in
                            SessionOccupancyMessage(
                                groupID: entry.groupID, session: ProtoSession(entry.session), capacity: UInt32(max(0, entry.occupancy.capacity)),
                                sos: UInt32(max(0, entry.occupancy.sos)), local: UInt32(max(0, entry.occupancy.local)),
                                free: UInt32(entry.occupancy.free), freeForSOS: UInt32(entry.occupancy.free(for: .sos)),
                                freeForLocal: UInt32(entry.occupancy.free(for: .local)))
                        })
                })
        }
    }

    static func reply<T>(_ outcome: Mutated<T>) -> [UInt8] {
        switch outcome {
        case .applied(_, let bytes), .replayed(let bytes): bytes
        }
    }

    static func pageSize(_ size: UInt32) throws(SchedulerError) -> Int {
        guard size <= 1000 else { throw SchedulerError(.invalidArgument, "page_size is over 1000", field: "page_size") }
        return size == 0 ? 100 : Int(size)
    }

    static func cursor(_ token: String) -> String? { token.isEmpty ? nil : token }

    static func placementInScope(_ store: any Store, _ access: NurseryAccess, _ id: String, _ principal: Principal) async throws -> Nursery {
        guard let placement = try await store.placement(id: id) else {
            throw SchedulerError(.notFound, "no placement with id \(id)", field: "id")
        }
        let (_, nursery) = try await access.group(placement.groupID, field: "id")
        try access.checkNursery(principal, nursery)
        return nursery
    }
}
