import SchedulerCore
import SchedulerWire

/// How a method runs once its caller is allowed in.
public enum MethodHandler: Sendable {
    /// Cheap and store-free: decoded, run and encoded on the connection's event loop.
    case inline(@Sendable (CallContext) throws -> [UInt8])
    /// Runs in a task, off the event loop (store work).
    case async(@Sendable (CallContext) async throws -> [UInt8])
}

/// One method the server answers: its generated descriptor, the permission it needs, whether it
/// changes data (and so honours idempotency keys), and its handler.
public struct MethodEntry: Sendable {
    public var descriptor: MethodDescriptor
    public var permission: Permission
    public var mutating: Bool
    public var handler: MethodHandler
}

/// The permission of every method, in one table that a test walks. A method in `proto/` that
/// is missing here keeps the server from starting.
public enum MethodPermissions {
    public struct Rule: Sendable, Hashable {
        public var permission: Permission
        public var mutating: Bool
    }

    public static let table: [String: Rule] = [
        "/sos.scheduler.v1.AdminService/Health": Rule(permission: .anyone, mutating: false),
        "/sos.scheduler.v1.AdminService/WhoAmI": Rule(permission: .authenticated, mutating: false),
        "/sos.scheduler.v1.AdminService/CreateToken": Rule(permission: .roles([.admin]), mutating: true),
        "/sos.scheduler.v1.AdminService/RevokeToken": Rule(permission: .roles([.admin]), mutating: true),
        "/sos.scheduler.v1.AdminService/ListTokens": Rule(permission: .roles([.admin]), mutating: false),
        // Nursery work: admins and managers; each method then checks the records against the manager's scope.
        "/sos.scheduler.v1.NurseryService/CreateSite": Rule(permission: .roles([.admin]), mutating: true),
        "/sos.scheduler.v1.NurseryService/UpdateSite": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/CreateNursery": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/UpdateNursery": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/CreateGroup": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/UpdateGroup": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/RegisterFamily": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/UpdateFamily": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/RegisterChild": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/UpdateChild": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/BookPlace": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/EndPlacement": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/CancelPlacement": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.NurseryService/GetSite": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/ListSites": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/GetNursery": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/ListNurseries": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/GetGroup": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/ListGroups": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/GetFamily": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/ListFamilies": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/GetChild": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/ListChildren": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/ListPlacements": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.NurseryService/GetOccupancy": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.IntakeService/CreateRound": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.IntakeService/GetRound": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.IntakeService/OpenOffer": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.IntakeService/SubmitApplications": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.IntakeService/WithdrawApplication": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.IntakeService/RunRound": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.IntakeService/GetResults": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.IntakeService/GetWaitlist": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.IntakeService/Explain": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.IntakeService/ReleaseSeat": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.IntakeService/RespondToOffer": Rule(permission: nurseryWork, mutating: true),
        "/sos.scheduler.v1.IntakeService/ListMoves": Rule(permission: nurseryWork, mutating: false),
        "/sos.scheduler.v1.IntakeService/ConfirmPlacements": Rule(permission: nurseryWork, mutating: true),
    ]

    private static let nurseryWork = Permission.roles([.admin, .manager])
}

/// Builds the dispatch table from the generated service descriptors and the handlers that
/// services register by method path.
public struct MethodTable: Sendable {
    public let entries: [String: MethodEntry]

    public init(handlers: [String: MethodHandler]) throws(SchedulerError) {
        var entries: [String: MethodEntry] = [:]
        for descriptor in MethodDescriptor.all {
            guard let rule = MethodPermissions.table[descriptor.path] else {
                throw SchedulerError(.internal, "method \(descriptor.path) has no entry in the permission table")
            }
            guard let handler = handlers[descriptor.path] else {
                throw SchedulerError(.internal, "method \(descriptor.path) has no handler")
            }
            entries[descriptor.path] = MethodEntry(
                descriptor: descriptor, permission: rule.permission, mutating: rule.mutating, handler: handler)
        }
        for path in handlers.keys where entries[path] == nil {
            throw SchedulerError(.internal, "handler for \(path), which no service in proto/ declares")
        }
        self.entries = entries
    }
}

/// Typed registration: decodes the request with the call's budget and encodes the response.
public struct HandlerRegistry {
    public private(set) var handlers: [String: MethodHandler] = [:]
    let decodeBudget: Int

    public init(decodeBudget: Int) { self.decodeBudget = decodeBudget }

    public mutating func inline<Request: WireMessage, Response: WireMessage>(
        _ path: String, _ body: @escaping @Sendable (Request, CallContext) throws -> Response
    ) {
        let budget = decodeBudget
        handlers[path] = .inline { context in
            let request = try WireCodec.decode(Request.self, from: context.payload, budget: budget)
            return try WireCodec.encode(try body(request, context))
        }
    }

    public mutating func async<Request: WireMessage, Response: WireMessage>(
        _ path: String, _ body: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) {
        let budget = decodeBudget
        handlers[path] = .async { context in
            let request = try WireCodec.decode(Request.self, from: context.payload, budget: budget)
            return try WireCodec.encode(try await body(request, context))
        }
    }

    /// For mutating methods: the body returns encoded bytes, so a replayed idempotent call can
    /// answer with the reply stored by the first.
    public mutating func mutating<Request: WireMessage>(
        _ path: String, _ body: @escaping @Sendable (Request, CallContext) async throws -> [UInt8]
    ) {
        let budget = decodeBudget
        handlers[path] = .async { context in
            let request = try WireCodec.decode(Request.self, from: context.payload, budget: budget)
            return try await body(request, context)
        }
    }
}
