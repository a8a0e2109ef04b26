/// The caller of an RPC, as its token says.
public struct Principal: Sendable, Hashable {
    public var tokenID: String
    public var role: Role
    public var scope: Scope?

    public init(tokenID: String, role: Role, scope: Scope?) {
        self.tokenID = tokenID
        self.role = role
        self.scope = scope
    }
}

/// What a method needs from its caller before it runs. Scope checks on the records a call
/// touches happen in the method itself, since they depend on the records.
public enum Permission: Sendable, Hashable {
    /// Anyone, with or without a token.
    case anyone
    /// Any valid (unrevoked) token.
    case authenticated
    /// A valid token of one of these roles.
    case roles(Set<Role>)

    public enum Decision: Sendable, Hashable {
        case allowed
        case unauthenticated
        case denied
    }

    /// Decides for a caller; `nil` means no valid token was presented.
    public func decide(for principal: Principal?) -> Decision {
        switch self {
        case .anyone:
            return .allowed
        case .authenticated:
            return principal == nil ? .unauthenticated : .allowed
        case .roles(let roles):
            guard let principal else { return .unauthenticated }
            return roles.contains(principal.role) ? .allowed : .denied
        }
    }
}
