import SchedulerCore

// Swift values for proto/sos/scheduler/v1/admin.proto.

extension Role {
    /// The number of `sos.scheduler.v1.Role`; 0 is `ROLE_UNSPECIFIED`.
    public var protoNumber: Int32 {
        switch self {
        case .admin: 1
        case .manager: 2
        case .counsellor: 3
        case .coordinator: 4
        }
    }

    public init?(protoNumber: Int32) {
        switch protoNumber {
        case 1: self = .admin
        case 2: self = .manager
        case 3: self = .counsellor
        case 4: self = .coordinator
        default: return nil
        }
    }
}

extension ProtoReader {
    /// A `sos.scheduler.v1.Role` field: `nil` for `ROLE_UNSPECIFIED`, `invalidEnum` for an unknown number.
    func role(_ name: String) throws(WireError) -> Role? {
        let number = try enumNumber(name)
        if number == 0 { return nil }
        guard let role = Role(protoNumber: number) else {
            throw WireError(.invalidEnum, "field \(path)\(name) has unknown value \(number)", field: path + name)
        }
        return role
    }
}

public struct TokenInfo: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.TokenInfo"
    public var id: String
    public var role: Role?
    public var scope: String
    public var name: String
    public var createdAtMs: Int64
    public var revokedAtMs: Int64
    public var createdBy: String

    public init(id: String, role: Role?, scope: String, name: String, createdAtMs: Int64, revokedAtMs: Int64, createdBy: String) {
        self.id = id
        self.role = role
        self.scope = scope
        self.name = name
        self.createdAtMs = createdAtMs
        self.revokedAtMs = revokedAtMs
        self.createdBy = createdBy
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        role = try reader.role("role")
        scope = try reader.string("scope")
        name = try reader.string("name")
        createdAtMs = try reader.int64("created_at_ms")
        revokedAtMs = try reader.int64("revoked_at_ms")
        createdBy = try reader.string("created_by")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("role", enumNumber: role?.protoNumber ?? 0)
        writer.set("scope", string: scope)
        writer.set("name", string: name)
        writer.set("created_at_ms", int64: createdAtMs)
        writer.set("revoked_at_ms", int64: revokedAtMs)
        writer.set("created_by", string: createdBy)
    }
}

public struct HealthRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.HealthRequest"
    public init() {}
    public init(reader: ProtoReader) throws(WireError) {}
    public func write(to writer: inout ProtoWriter) {}
}

public struct HealthResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.HealthResponse"
    public var version: String
    public var store: String
    public var uptimeMs: UInt64

    public init(version: String, store: String, uptimeMs: UInt64) {
        self.version = version
        self.store = store
        self.uptimeMs = uptimeMs
    }

    public init(reader: ProtoReader) throws(WireError) {
        version = try reader.string("version")
        store = try reader.string("store")
        uptimeMs = try reader.uint64("uptime_ms")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("version", string: version)
        writer.set("store", string: store)
        writer.set("uptime_ms", uint64: uptimeMs)
    }
}

public struct WhoAmIRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.WhoAmIRequest"
    public init() {}
    public init(reader: ProtoReader) throws(WireError) {}
    public func write(to writer: inout ProtoWriter) {}
}

public struct WhoAmIResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.WhoAmIResponse"
    public var token: TokenInfo?

    public init(token: TokenInfo?) { self.token = token }

    public init(reader: ProtoReader) throws(WireError) {
        token = try reader.message("token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("token", message: token)
    }
}

public struct CreateTokenRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.CreateTokenRequest"
    public var role: Role?
    public var scope: String
    public var name: String

    public init(role: Role?, scope: String = "", name: String = "") {
        self.role = role
        self.scope = scope
        self.name = name
    }

    public init(reader: ProtoReader) throws(WireError) {
        role = try reader.role("role")
        scope = try reader.string("scope")
        name = try reader.string("name")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("role", enumNumber: role?.protoNumber ?? 0)
        writer.set("scope", string: scope)
        writer.set("name", string: name)
    }
}

public struct CreateTokenResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.CreateTokenResponse"
    public var token: TokenInfo?
    public var secret: String

    public init(token: TokenInfo?, secret: String) {
        self.token = token
        self.secret = secret
    }

    public init(reader: ProtoReader) throws(WireError) {
        token = try reader.message("token")
        secret = try reader.string("secret")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("token", message: token)
        writer.set("secret", string: secret)
    }
}

public struct RevokeTokenRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RevokeTokenRequest"
    public var id: String

    public init(id: String) { self.id = id }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
    }
}

public struct RevokeTokenResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RevokeTokenResponse"
    public var token: TokenInfo?

    public init(token: TokenInfo?) { self.token = token }

    public init(reader: ProtoReader) throws(WireError) {
        token = try reader.message("token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("token", message: token)
    }
}

public struct ListTokensRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListTokensRequest"
    public var includeRevoked: Bool
    public var pageSize: UInt32
    public var pageToken: String

    public init(includeRevoked: Bool = false, pageSize: UInt32 = 0, pageToken: String = "") {
        self.includeRevoked = includeRevoked
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        includeRevoked = try reader.bool("include_revoked")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("include_revoked", bool: includeRevoked)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

public struct ListTokensResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListTokensResponse"
    public var tokens: [TokenInfo]
    public var nextPageToken: String

    public init(tokens: [TokenInfo], nextPageToken: String) {
        self.tokens = tokens
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        tokens = try reader.repeatedMessages("tokens")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("tokens", messages: tokens)
        writer.set("next_page_token", string: nextPageToken)
    }
}
