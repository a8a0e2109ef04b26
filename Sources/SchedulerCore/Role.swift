/// What a token may do. See `Docs/protocol.md` for each method's permission.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// Everything, everywhere.
    case admin
    /// Books and cancels places, runs intake rounds, watches occupancy: in one nursery or a whole site.
    case manager
    /// Sees their own schedule and marks sessions done.
    case counsellor
    /// Plans counsellor weeks and sends mentor batches at a site.
    case coordinator

    /// The scope kinds a token of this role may carry, and whether it must carry one.
    public var allowedScopeKinds: (kinds: Set<Scope.Kind>, required: Bool) {
        switch self {
        case .admin: ([], false)
        case .manager: ([.site, .nursery], true)
        case .counsellor: ([.site, .counsellor], true)
        case .coordinator: ([.site], true)
        }
    }

    /// Checks that `scope` suits this role; the error names the `scope` field.
    public func validate(scope: Scope?) throws(SchedulerError) {
        let (kinds, required) = allowedScopeKinds
        guard let scope else {
            if required {
                let list = kinds.map { "\($0.rawValue):ID" }.sorted().joined(separator: " or ")
                throw SchedulerError(.invalidArgument, "a \(rawValue) token needs a scope (\(list))", field: "scope")
            }
            return
        }
        guard kinds.contains(scope.kind) else {
            if kinds.isEmpty {
                throw SchedulerError(.invalidArgument, "an \(rawValue) token has no scope", field: "scope")
            }
            let list = kinds.map(\.rawValue).sorted().joined(separator: ", ")
            throw SchedulerError(
                .invalidArgument,
                "a \(rawValue) token's scope must be of kind \(list), not \(scope.kind.rawValue)",
                field: "scope"
            )
        }
    }
}
