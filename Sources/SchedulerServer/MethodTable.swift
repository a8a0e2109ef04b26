import SchedulerCore
import SchedulerWire

/// How a method runs once its caller is allowed in.
public enum MethodHandler: Sendable {
    /// Cheap and store-free: decoded, run and encoded on the connection's event loop.
    case inline(@Sendable (CallContext) throws -> [UInt8])
    /// Runs in a task, off the event loop (store work).
    case async(@Sendable (CallContext) async throws -> [UInt8])
    /// A server-streaming method: runs in a task and sends its messages through the sink; its
    /// end (return or throw) is the final status.
    case serverStreaming(@Sendable (CallContext, MessageSink) async throws -> Void)

    var kind: RPCKind {
        if case .serverStreaming = self { return .serverStreaming }
        return .unary
    }
}

/// Where a streaming handler's encoded messages go. `send` returns when the connection can take
/// more (a client that does not read holds the producer back, so memory does not grow) and
/// throws once the call is over: cancelled, past its deadline, ended by a drain, or its
/// connection gone.
public struct MessageSink: Sendable {
    let send: @Sendable ([UInt8]) async throws -> Void

    public init(send: @escaping @Sendable ([UInt8]) async throws -> Void) { self.send = send }
}

/// A streaming handler's typed writer.
public struct ResponseWriter<Response: WireMessage>: Sendable {
    let sink: MessageSink

    public init(sink: MessageSink) { self.sink = sink }

    /// Sends one message (`end_of_stream = false`); see `MessageSink` for when it returns and throws.
    public func send(_ message: Response) async throws {
        try Task.checkCancellation()
        try await sink.send(try WireCodec.encode(message))
    }
}

/// One method the server answers: its generated constant, the permission it needs, whether it
/// changes data (and so honours idempotency keys), and its handler.
public struct MethodEntry: Sendable {
    public var method: AnyRPCMethod
    public var permission: Permission
    public var mutating: Bool
    public var handler: MethodHandler
}

/// The permission of every method, in one table keyed by the generated method constants, which
/// a test walks. A method in `proto/` that is missing here keeps the server from starting.
public enum MethodPermissions {
    public struct Rule: Sendable, Hashable {
        public var permission: Permission
        public var mutating: Bool
    }

    public static let table: [AnyRPCMethod: Rule] = [
        .init(Admin.health): Rule(permission: .anyone, mutating: false),
        .init(Admin.whoAmI): Rule(permission: .authenticated, mutating: false),
        .init(Admin.createToken): Rule(permission: .roles([.admin]), mutating: true),
        .init(Admin.revokeToken): Rule(permission: .roles([.admin]), mutating: true),
        .init(Admin.listTokens): Rule(permission: .roles([.admin]), mutating: false),
        .init(Admin.watchHealth): Rule(permission: .authenticated, mutating: false),
        // Nursery work: admins and managers; each method then checks the records against the manager's scope.
        .init(Nursery.createSite): Rule(permission: .roles([.admin]), mutating: true),
        .init(Nursery.updateSite): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.createNursery): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.updateNursery): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.createGroup): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.updateGroup): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.registerFamily): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.updateFamily): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.registerChild): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.updateChild): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.bookPlace): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.endPlacement): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.cancelPlacement): Rule(permission: nurseryWork, mutating: true),
        .init(Nursery.getSite): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.listSites): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.getNursery): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.listNurseries): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.getGroup): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.listGroups): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.getFamily): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.listFamilies): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.getChild): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.listChildren): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.listPlacements): Rule(permission: nurseryWork, mutating: false),
        .init(Nursery.getOccupancy): Rule(permission: nurseryWork, mutating: false),
        .init(Intake.createRound): Rule(permission: nurseryWork, mutating: true),
        .init(Intake.getRound): Rule(permission: nurseryWork, mutating: false),
        .init(Intake.openOffer): Rule(permission: nurseryWork, mutating: true),
        .init(Intake.submitApplications): Rule(permission: nurseryWork, mutating: true),
        .init(Intake.withdrawApplication): Rule(permission: nurseryWork, mutating: true),
        .init(Intake.runRound): Rule(permission: nurseryWork, mutating: true),
        .init(Intake.getResults): Rule(permission: nurseryWork, mutating: false),
        .init(Intake.getWaitlist): Rule(permission: nurseryWork, mutating: false),
        .init(Intake.explain): Rule(permission: nurseryWork, mutating: false),
        .init(Intake.releaseSeat): Rule(permission: nurseryWork, mutating: true),
        .init(Intake.respondToOffer): Rule(permission: nurseryWork, mutating: true),
        .init(Intake.listMoves): Rule(permission: nurseryWork, mutating: false),
        .init(Intake.confirmPlacements): Rule(permission: nurseryWork, mutating: true),
        .init(Counselling.createHome): Rule(permission: planning, mutating: true),
        .init(Counselling.getHome): Rule(permission: planning, mutating: false),
        .init(Counselling.listHomes): Rule(permission: planning, mutating: false),
        .init(Counselling.updateHome): Rule(permission: planning, mutating: true),
        .init(Counselling.createYoungPerson): Rule(permission: planning, mutating: true),
        .init(Counselling.getYoungPerson): Rule(permission: planning, mutating: false),
        .init(Counselling.listYoungPeople): Rule(permission: planning, mutating: false),
        .init(Counselling.updateYoungPerson): Rule(permission: planning, mutating: true),
        .init(Counselling.createCounsellor): Rule(permission: planning, mutating: true),
        .init(Counselling.getCounsellor): Rule(permission: ownSchedule, mutating: false),
        .init(Counselling.listCounsellors): Rule(permission: planning, mutating: false),
        .init(Counselling.updateCounsellor): Rule(permission: planning, mutating: true),
        .init(Counselling.importCounselling): Rule(permission: planning, mutating: true),
        .init(Counselling.planWeek): Rule(permission: planning, mutating: true),
        .init(Counselling.reportAbsence): Rule(permission: planning, mutating: true),
        .init(Counselling.getSchedule): Rule(permission: ownSchedule, mutating: false),
        .init(Counselling.rescheduleSession): Rule(permission: planning, mutating: true),
        .init(Counselling.cancelSession): Rule(permission: planning, mutating: true),
        .init(Counselling.markDone): Rule(permission: ownSchedule, mutating: true),
        .init(Counselling.pinSession): Rule(permission: planning, mutating: true),
        .init(Counselling.exportCalendar): Rule(permission: ownSchedule, mutating: false),
        .init(Mentoring.createMentor): Rule(permission: planning, mutating: true),
        .init(Mentoring.getMentor): Rule(permission: planning, mutating: false),
        .init(Mentoring.listMentors): Rule(permission: planning, mutating: false),
        .init(Mentoring.updateMentor): Rule(permission: planning, mutating: true),
        .init(Mentoring.importMentors): Rule(permission: planning, mutating: true),
        .init(Mentoring.batchAssign): Rule(permission: planning, mutating: true),
        .init(Mentoring.listMentorSessions): Rule(permission: planning, mutating: false),
        .init(Mentoring.cancelMentorSession): Rule(permission: planning, mutating: true),
        .init(Mentoring.cancelBatch): Rule(permission: planning, mutating: true),
    ]

    private static let nurseryWork = Permission.roles([.admin, .manager])
    private typealias Admin = RPC.AdminService
    private typealias Nursery = RPC.NurseryService
    private typealias Intake = RPC.IntakeService
    private typealias Counselling = RPC.CounsellingService
    private typealias Mentoring = RPC.MentoringService
    /// Coordinators plan their site's counselling and run its mentor batches; counsellors read
    /// their own schedule.
    private static let planning = Permission.roles([.admin, .coordinator])
    private static let ownSchedule = Permission.roles([.admin, .coordinator, .counsellor])
}

/// Builds the dispatch table from the generated methods and the handlers that services
/// register for them.
public struct MethodTable: Sendable {
    public let entries: [String: MethodEntry]

    public init(handlers: [String: MethodHandler]) throws(SchedulerError) {
        var entries: [String: MethodEntry] = [:]
        for method in RPC.allMethods {
            guard let rule = MethodPermissions.table[method] else {
                throw SchedulerError(.internal, "method \(method.path) has no entry in the permission table")
            }
            guard let handler = handlers[method.path] else {
                throw SchedulerError(.internal, "method \(method.path) has no handler")
            }
            guard handler.kind == method.kind else {
                throw SchedulerError(.internal, "method \(method.path) is \(method.kind.rawValue) but its handler is not")
            }
            entries[method.path] = MethodEntry(method: method, permission: rule.permission, mutating: rule.mutating, handler: handler)
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
        _ method: RPCMethod<Request, Response>, _ body: @escaping @Sendable (Request, CallContext) throws -> Response
    ) {
        let budget = decodeBudget
        handlers[method.path] = .inline { context in
            let request = try WireCodec.decode(Request.self, from: context.payload, budget: budget)
            return try WireCodec.encode(try body(request, context))
        }
    }

    public mutating func async<Request: WireMessage, Response: WireMessage>(
        _ method: RPCMethod<Request, Response>, _ body: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) {
        let budget = decodeBudget
        handlers[method.path] = .async { context in
            let request = try WireCodec.decode(Request.self, from: context.payload, budget: budget)
            return try WireCodec.encode(try await body(request, context))
        }
    }

    /// A server-streaming method: the body sends messages through the writer; returning ends the
    /// call with OK, throwing ends it with the error's status. A mutating streaming method that
    /// finds its idempotency key already used sends the stored final message and returns.
    public mutating func serverStreaming<Request: WireMessage, Response: WireMessage>(
        _ method: RPCMethod<Request, Response>, _ body: @escaping @Sendable (Request, CallContext, ResponseWriter<Response>) async throws -> Void
    ) {
        let budget = decodeBudget
        handlers[method.path] = .serverStreaming { context, sink in
            let request = try WireCodec.decode(Request.self, from: context.payload, budget: budget)
            try await body(request, context, ResponseWriter(sink: sink))
        }
    }

    /// For mutating methods: the body returns encoded bytes, so a replayed idempotent call can
    /// answer with the reply stored by the first (encoded with `method.encode`, which takes only
    /// the method's response type).
    public mutating func mutating<Request: WireMessage, Response: WireMessage>(
        _ method: RPCMethod<Request, Response>, _ body: @escaping @Sendable (Request, CallContext) async throws -> [UInt8]
    ) {
        let budget = decodeBudget
        handlers[method.path] = .async { context in
            let request = try WireCodec.decode(Request.self, from: context.payload, budget: budget)
            return try await body(request, context)
        }
    }
}
