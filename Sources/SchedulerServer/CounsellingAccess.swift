import SchedulerCore
import SchedulerStore

/// Scope checks for counselling: an admin sees everything; a coordinator of `site:S` plans and
/// reads site S; a counsellor token of `counsellor:C` reads and exports C's own schedule and
/// marks C's sessions done. Nothing of another site is visible: a record of another site is
/// refused like a missing permission, naming only the id the caller sent.
struct CounsellingAccess {
    let store: any Store

    /// Planning and the site's records.
    func checkSite(_ principal: Principal, _ siteID: String) throws(SchedulerError) {
        if principal.role == .admin { return }
        if principal.role == .coordinator, let scope = principal.scope, scope.kind == .site, scope.id == siteID { return }
        // The site is not named: a record's site is not the caller's to learn.
        throw SchedulerError(.permissionDenied, "a token scoped to \(principal.scope?.description ?? "nothing") may not use this site's records")
    }

    /// One counsellor's own schedule: theirs, or the site's coordinator.
    func checkCounsellor(_ principal: Principal, _ counsellor: Counsellor) throws(SchedulerError) {
        if principal.role == .counsellor, let scope = principal.scope, scope.kind == .counsellor, scope.id == counsellor.id { return }
        do { try checkSite(principal, counsellor.siteID) } catch {
            throw SchedulerError(
                .permissionDenied, "a token scoped to \(principal.scope?.description ?? "nothing") may not see the schedule of counsellor \(counsellor.id)")
        }
    }

    func home(_ id: String, field: String) async throws -> Home {
        guard let home = try await store.home(id: try Field.id(id, field)) else { throw SchedulerError(.notFound, "no home with id \(id)", field: field) }
        return home
    }

    func youngPerson(_ id: String, field: String) async throws -> (YoungPerson, siteID: String) {
        let id = try Field.id(id, field)
        guard let person = try await store.youngPerson(id: id), let site = try await store.youngPersonSite(id: id) else {
            throw SchedulerError(.notFound, "no young person with id \(id)", field: field)
        }
        return (person, site)
    }

    func counsellor(_ id: String, field: String) async throws -> Counsellor {
        guard let counsellor = try await store.counsellor(id: try Field.id(id, field)) else {
            throw SchedulerError(.notFound, "no counsellor with id \(id)", field: field)
        }
        return counsellor
    }

    func session(_ id: String, field: String = "session_id") async throws -> StoredSession {
        guard let session = try await store.session(id: try Field.id(id, field)) else {
            throw SchedulerError(.notFound, "no session with id \(id)", field: field)
        }
        return session
    }
}
