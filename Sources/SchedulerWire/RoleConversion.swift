import SchedulerCore

extension Role {
    /// The wire's role: `nil` for `ROLE_UNSPECIFIED`.
    public init?(_ proto: ProtoRole) {
        switch proto {
        case .unspecified: return nil
        case .admin: self = .admin
        case .manager: self = .manager
        case .counsellor: self = .counsellor
        case .coordinator: self = .coordinator
        }
    }

    public var proto: ProtoRole {
        switch self {
        case .admin: .admin
        case .manager: .manager
        case .counsellor: .counsellor
        case .coordinator: .coordinator
        }
    }
}
