/// gRPC's status codes, with gRPC's numbers (`sos.rpc.v1.Code`).
public struct StatusCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let ok = StatusCode(rawValue: 0)
    public static let cancelled = StatusCode(rawValue: 1)
    public static let unknown = StatusCode(rawValue: 2)
    public static let invalidArgument = StatusCode(rawValue: 3)
    public static let deadlineExceeded = StatusCode(rawValue: 4)
    public static let notFound = StatusCode(rawValue: 5)
    public static let alreadyExists = StatusCode(rawValue: 6)
    public static let permissionDenied = StatusCode(rawValue: 7)
    public static let resourceExhausted = StatusCode(rawValue: 8)
    public static let failedPrecondition = StatusCode(rawValue: 9)
    public static let aborted = StatusCode(rawValue: 10)
    public static let outOfRange = StatusCode(rawValue: 11)
    public static let unimplemented = StatusCode(rawValue: 12)
    public static let `internal` = StatusCode(rawValue: 13)
    public static let unavailable = StatusCode(rawValue: 14)
    public static let dataLoss = StatusCode(rawValue: 15)
    public static let unauthenticated = StatusCode(rawValue: 16)

    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// The name as in `frames.proto`, e.g. `RESOURCE_EXHAUSTED`; `CODE_42` for a number it does not know.
    public var name: String {
        Self.names.indices.contains(rawValue) ? Self.names[rawValue] : "CODE_\(rawValue)"
    }

    public var description: String { name }
}

/// `sos.rpc.v1.Detail`: a machine-readable error detail, a message's full name and its encoding.
public struct Detail: Sendable, Hashable {
    public var type: String
    public var value: [UInt8]

    public init(type: String, value: [UInt8]) {
        self.type = type
        self.value = value
    }

    /// Wraps a message as a detail.
    public init<M: WireMessage>(_ message: M) throws(WireError) {
        self.init(type: M.protoName, value: try WireCodec.encode(message))
    }

    /// Decodes the detail as `M` when its type is `M`'s name, else `nil`.
    public func decode<M: WireMessage>(as type: M.Type) throws(WireError) -> M? {
        guard self.type == M.protoName else { return nil }
        return try WireCodec.decode(M.self, from: value)
    }
}

/// `sos.rpc.v1.Status`: the outcome of a call.
public struct Status: Sendable, Hashable, Error, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var details: [Detail]

    /// Longest message a status carries: messages quote what the caller sent (an id, a field),
    /// and a reply must never grow with a request, past the frame limit.
    public static let maxMessageBytes = 1024

    public init(_ code: StatusCode, _ message: String = "", details: [Detail] = []) {
        self.code = code
        self.message = message.cappedUTF8(Self.maxMessageBytes)
        self.details = details
    }

    public static let ok = Status(.ok)

    public var isOK: Bool { code == .ok }

    public var description: String { message.isEmpty ? code.name : "\(code.name): \(message)" }
}

extension String {
    /// The string cut to at most `limit` bytes of UTF-8, at a character boundary, with "…"
    /// (3 bytes, counted) marking a cut.
    public func cappedUTF8(_ limit: Int) -> String {
        guard utf8.count > limit else { return self }
        var kept = Substring()
        var bytes = 0
        for character in self {
            let size = character.utf8.count
            guard bytes + size <= limit - 3 else { break }
            kept.append(character)
            bytes += size
        }
        return String(kept) + "…"
    }
}
