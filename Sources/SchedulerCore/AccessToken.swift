import Foundation

/// A stored access token. The secret itself is never stored, only its SHA-256.
public struct AccessToken: Sendable, Hashable {
    /// Public identifier, e.g. `tok_4m2k9x7q1d`; safe to show and log.
    public var id: String
    public var role: Role
    public var scope: Scope?
    /// A label for people, e.g. "Almaty nursery office".
    public var name: String
    public var createdAt: Date
    /// The token that created this one; `nil` when made on the server's command line.
    public var createdBy: String?
    public var revokedAt: Date?

    public init(
        id: String, role: Role, scope: Scope?, name: String, createdAt: Date, createdBy: String?, revokedAt: Date?
    ) {
        self.id = id
        self.role = role
        self.scope = scope
        self.name = name
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }

    public var principal: Principal { Principal(tokenID: id, role: role, scope: scope) }
}
