import SchedulerCore
import SchedulerStore

/// Scope checks for nursery records: an admin sees everything; a manager of `site:S` sees the
/// records of site S; a manager of `nursery:N` sees nursery N (its groups and placements) and
/// the families and children of N's site, whom it must be able to register and book.
struct NurseryAccess {
    let store: any Store

    private func denied(_ principal: Principal, _ what: String) -> SchedulerError {
        SchedulerError(.permissionDenied, "a token scoped to \(principal.scope?.description ?? "nothing") may not use \(what)")
    }

    /// Site-level records (the site, its families and children). `write` on the site itself is admin work.
    func checkSite(_ principal: Principal, _ siteID: String) async throws {
        switch principal.role {
        case .admin:
            return
        case .manager:
            guard let scope = principal.scope else { break }
            switch scope.kind {
            case .site where scope.id == siteID: return
            case .nursery:
                if let nursery = try await store.nursery(id: scope.id), nursery.siteID == siteID { return }
            default: break
            }
        default: break
        }
        throw denied(principal, "site \(siteID)")
    }

    /// Site-level records, when the nursery in question is already known (no lookup needed).
    func checkSite(_ principal: Principal, _ siteID: String, at nursery: Nursery) throws {
        if principal.role == .admin { return }
        if principal.role == .manager, let scope = principal.scope {
            if scope.kind == .site, scope.id == siteID { return }
            if scope.kind == .nursery, scope.id == nursery.id, nursery.siteID == siteID { return }
        }
        throw denied(principal, "site \(siteID)")
    }

    /// A nursery and what hangs off it (groups, placements, occupancy).
    func checkNursery(_ principal: Principal, _ nursery: Nursery) throws {
        switch principal.role {
        case .admin:
            return
        case .manager:
            if let scope = principal.scope,
                (scope.kind == .site && scope.id == nursery.siteID) || (scope.kind == .nursery && scope.id == nursery.id)
            {
                return
            }
        default: break
        }
        throw denied(principal, "nursery \(nursery.id)")
    }

    /// Creating or renaming sites and creating nurseries need a wider scope than a nursery.
    func checkSiteAdministration(_ principal: Principal, _ siteID: String) throws {
        if principal.role == .admin { return }
        if principal.role == .manager, let scope = principal.scope, scope.kind == .site, scope.id == siteID { return }
        throw denied(principal, "the administration of site \(siteID)")
    }

    func nursery(_ id: String, field: String) async throws -> Nursery {
        guard let nursery = try await store.nursery(id: id) else {
            throw SchedulerError(.notFound, "no nursery with id \(id)", field: field)
        }
        return nursery
    }

    func group(_ id: String, field: String) async throws -> (Group, Nursery) {
        guard let group = try await store.group(id: id) else {
            throw SchedulerError(.notFound, "no group with id \(id)", field: field)
        }
        return (group, try await nursery(group.nurseryID, field: field))
    }

    func family(_ id: String, field: String) async throws -> Family {
        guard let family = try await store.family(id: id) else {
            throw SchedulerError(.notFound, "no family with id \(id)", field: field)
        }
        return family
    }

    func child(_ id: String, field: String) async throws -> (Child, Family) {
        guard let child = try await store.child(id: id) else {
            throw SchedulerError(.notFound, "no child with id \(id)", field: field)
        }
        return (child, try await family(child.familyID, field: field))
    }
}
