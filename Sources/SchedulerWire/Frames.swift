/// `sos.rpc.v1.Call`: one request.
public struct Call: Sendable, Hashable {
    public var callID: UInt64
    public var method: String
    public var payload: [UInt8]
    /// 0 means no deadline.
    public var timeoutMs: UInt32
    /// The bare token, or `""`.
    public var authorization: String
    /// `""` when the caller gave none.
    public var idempotencyKey: String

    public init(
        callID: UInt64, method: String, payload: [UInt8] = [], timeoutMs: UInt32 = 0,
        authorization: String = "", idempotencyKey: String = ""
    ) {
        self.callID = callID
        self.method = method
        self.payload = payload
        self.timeoutMs = timeoutMs
        self.authorization = authorization
        self.idempotencyKey = idempotencyKey
    }
}

/// `sos.rpc.v1.ClientFrame`.
public enum ClientFrame: Sendable, Hashable {
    case call(Call)
    case cancel(callID: UInt64)
    case ping(opaque: UInt64)
}

/// `sos.rpc.v1.Reply`.
public struct Reply: Sendable, Hashable {
    public var callID: UInt64
    public var status: Status
    public var payload: [UInt8]
    public var endOfStream: Bool

    public init(callID: UInt64, status: Status, payload: [UInt8] = [], endOfStream: Bool = true) {
        self.callID = callID
        self.status = status
        self.payload = payload
        self.endOfStream = endOfStream
    }
}

/// `sos.rpc.v1.GoAway`: the server will start no call above `lastCallID` on this connection.
public struct GoAway: Sendable, Hashable {
    public var status: Status
    public var lastCallID: UInt64

    public init(status: Status, lastCallID: UInt64) {
        self.status = status
        self.lastCallID = lastCallID
    }
}

/// `sos.rpc.v1.ServerFrame`.
public enum ServerFrame: Sendable, Hashable {
    case reply(Reply)
    case pong(opaque: UInt64)
    case goAway(GoAway)
}

/// What reading one client frame gave: a frame, or a call whose fields are not acceptable
/// (the call id is known, so the call can be answered and the connection kept).
public enum DecodedClientFrame: Sendable, Hashable {
    case frame(ClientFrame)
    case invalidCall(callID: UInt64, error: WireError)
}
