import SchedulerCore
import Testing

struct ScopeTests {
    @Test(arguments: ["site:almaty", "nursery:almaty-1", "counsellor:c_42"])
    func parsesWellFormedScopes(_ text: String) throws {
        let scope = try Scope(parsing: text)
        #expect(scope.description == text)
    }

    @Test(arguments: ["almaty", "city:almaty", "site:", "site:al maty", "site:" + String(repeating: "a", count: 65), ":x"])
    func refusesMalformedScopesNamingTheField(_ text: String) {
        #expect {
            try Scope(parsing: text)
        } throws: { error in
            (error as? SchedulerError)?.field == "scope" && (error as? SchedulerError)?.code == .invalidArgument
        }
    }
}

struct RoleTests {
    @Test func adminHasNoScope() throws {
        try Role.admin.validate(scope: nil)
        #expect(throws: SchedulerError.self) { try Role.admin.validate(scope: Scope(kind: .site, id: "almaty")) }
    }

    @Test func managerNeedsASiteOrNurseryScope() throws {
        #expect(throws: SchedulerError.self) { try Role.manager.validate(scope: nil) }
        #expect(throws: SchedulerError.self) { try Role.manager.validate(scope: Scope(kind: .counsellor, id: "c1")) }
        try Role.manager.validate(scope: Scope(kind: .site, id: "almaty"))
        try Role.manager.validate(scope: Scope(kind: .nursery, id: "n1"))
    }

    @Test func coordinatorAndCounsellorScopes() throws {
        try Role.coordinator.validate(scope: Scope(kind: .site, id: "astana"))
        #expect(throws: SchedulerError.self) { try Role.coordinator.validate(scope: Scope(kind: .nursery, id: "n1")) }
        try Role.counsellor.validate(scope: Scope(kind: .counsellor, id: "c1"))
        #expect(throws: SchedulerError.self) { try Role.counsellor.validate(scope: nil) }
    }
}

struct PermissionTests {
    let manager = Principal(tokenID: "tok_m", role: .manager, scope: Scope(kind: .site, id: "almaty"))

    @Test func anyoneAllowsWithoutToken() {
        #expect(Permission.anyone.decide(for: nil) == .allowed)
    }

    @Test func authenticatedNeedsAToken() {
        #expect(Permission.authenticated.decide(for: nil) == .unauthenticated)
        #expect(Permission.authenticated.decide(for: manager) == .allowed)
    }

    @Test func rolesDenyOtherRoles() {
        let adminOnly = Permission.roles([.admin])
        #expect(adminOnly.decide(for: nil) == .unauthenticated)
        #expect(adminOnly.decide(for: manager) == .denied)
        #expect(adminOnly.decide(for: Principal(tokenID: "tok_a", role: .admin, scope: nil)) == .allowed)
    }
}
