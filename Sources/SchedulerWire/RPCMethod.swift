/// How a method answers: once, or with a stream of replies and then a final status.
public enum RPCKind: String, Sendable, Hashable {
    case unary
    case serverStreaming
}

/// One method of a service in `proto/`, typed by its request and response messages. The
/// constants are generated (`RPC.NurseryService.bookPlace`), so a path is never written by
/// hand and calling a method with the wrong message does not compile.
public struct RPCMethod<Request: WireMessage, Response: WireMessage>: Sendable, Hashable {
    /// `/sos.scheduler.v1.AdminService/Health`.
    public let path: String
    public let kind: RPCKind

    public init(path: String, kind: RPCKind) {
        self.path = path
        self.kind = kind
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.path == rhs.path }
    public func hash(into hasher: inout Hasher) { hasher.combine(path) }

    /// Encodes a response of this method (and nothing else).
    public func encode(_ response: Response) throws(WireError) -> [UInt8] { try WireCodec.encode(response) }

    /// Decodes a response of this method.
    public func decodeResponse(_ bytes: some Collection<UInt8>) throws(WireError) -> Response {
        try WireCodec.decode(Response.self, from: bytes)
    }
}

/// A method with its types erased, for tables keyed by method (permissions, dispatch).
public struct AnyRPCMethod: Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let kind: RPCKind
    /// Full names of the request and response messages.
    public let requestName: String
    public let responseName: String

    public init<Request, Response>(_ method: RPCMethod<Request, Response>) {
        path = method.path
        kind = method.kind
        requestName = Request.protoName
        responseName = Response.protoName
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.path == rhs.path }
    public func hash(into hasher: inout Hasher) { hasher.combine(path) }
    public var description: String { path }

    /// `sos.scheduler.v1.AdminService`.
    public var service: String { String(path.dropFirst().prefix { $0 != "/" }) }
    /// `Health`.
    public var name: String { String(path.split(separator: "/").last ?? "") }
}

/// The namespace of the generated method constants: `RPC.<Service>.<method>`.
public enum RPC {}
