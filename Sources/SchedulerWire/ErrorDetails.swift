// Swift values for proto/sos/rpc/v1/errors.proto.

/// `sos.rpc.v1.FieldViolation`.
public struct FieldViolation: WireMessage, Hashable {
    public static let protoName = "sos.rpc.v1.FieldViolation"
    public var field: String
    public var description: String

    public init(field: String, description: String) {
        self.field = field
        self.description = description
    }

    public init(reader: ProtoReader) throws(WireError) {
        field = try reader.string("field")
        description = try reader.string("description")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("field", string: field)
        writer.set("description", string: description)
    }
}

/// `sos.rpc.v1.BadRequest`: the detail sent with `INVALID_ARGUMENT`.
public struct BadRequest: WireMessage, Hashable {
    public static let protoName = "sos.rpc.v1.BadRequest"
    public var violations: [FieldViolation]

    public init(violations: [FieldViolation]) { self.violations = violations }

    public init(reader: ProtoReader) throws(WireError) {
        violations = try reader.repeatedMessages("violations")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("violations", messages: violations)
    }
}
