internal import CProtobufC
internal import CSchedulerProto

/// A Swift value that stands for one protobuf message of `proto/`. The conformers are generated
/// (`Generated/`, by `Scripts/generate-proto`): they read and write their fields through
/// `ProtoReader` and `ProtoWriter` by the field's index in the protobuf-c descriptor, and
/// protobuf-c does the encoding itself.
public protocol WireMessage: Sendable {
    /// The message's full name, e.g. `sos.scheduler.v1.HealthRequest`.
    static var protoName: String { get }
    /// The generated protobuf-c descriptor, found once per type.
    static var protoDescriptor: ProtoMessageDescriptor { get }
    /// The fields' names in the descriptor's order (by number).
    static var protoFieldNames: [String] { get }
    init(reader: ProtoReader) throws(WireError)
    func write(to writer: inout ProtoWriter)
}

/// A protobuf enum that a Swift enum stands for.
public protocol ProtoEnum: Sendable {
    init?(protoValue: Int32)
    var protoValue: Int32 { get }
}

/// The protobuf-c descriptor of one generated message, looked up by name once (a generated
/// type keeps it in a `static let`). `nil` only if the C code and the Swift code were
/// generated from different `proto/` trees, which encoding and decoding report as a schema error.
public struct ProtoMessageDescriptor: @unchecked Sendable {
    // Immutable static C data: sharing the pointer is safe.
    let pointer: UnsafePointer<ProtobufCMessageDescriptor>?
    let name: String

    public init(named name: String) {
        self.name = name
        self.pointer = ProtoRegistry.shared.messages[name]
    }

    func resolved() throws(WireError) -> UnsafePointer<ProtobufCMessageDescriptor> {
        guard let pointer else { throw WireError(.schema, "no generated descriptor for message \(name)") }
        return pointer
    }

    /// The names of the descriptor's fields in its order, for the test that checks them
    /// against the generated Swift.
    public var fieldNames: [String] {
        guard let pointer else { return [] }
        return (0..<Int(pointer.pointee.n_fields)).map { String(cString: pointer.pointee.fields[$0].name) }
    }
}

/// What the protobuf-c descriptor says about one field: for tests and tools that walk the
/// schema without the generated Swift (the round-trip test encodes random messages from it).
public struct ProtoFieldInfo: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case int32, sint32, sfixed32, int64, sint64, sfixed64, uint32, fixed32, uint64, fixed64
        case bool, `enum`, float, double, string, bytes, message
    }
    public var name: String
    public var number: UInt32
    public var kind: Kind
    public var repeated: Bool
    /// For message fields: the message's full name.
    public var messageName: String?
    /// For enum fields: the values the enum declares.
    public var enumValues: [Int32]
}

extension ProtoMessageDescriptor {
    /// The fields in the descriptor's order.
    public var fields: [ProtoFieldInfo] {
        guard let pointer else { return [] }
        return (0..<Int(pointer.pointee.n_fields)).map { index in
            let field = pointer.pointee.fields[index]
            let kinds: [ProtobufCType: ProtoFieldInfo.Kind] = [
                PROTOBUF_C_TYPE_INT32: .int32, PROTOBUF_C_TYPE_SINT32: .sint32, PROTOBUF_C_TYPE_SFIXED32: .sfixed32,
                PROTOBUF_C_TYPE_INT64: .int64, PROTOBUF_C_TYPE_SINT64: .sint64, PROTOBUF_C_TYPE_SFIXED64: .sfixed64,
                PROTOBUF_C_TYPE_UINT32: .uint32, PROTOBUF_C_TYPE_FIXED32: .fixed32, PROTOBUF_C_TYPE_UINT64: .uint64,
                PROTOBUF_C_TYPE_FIXED64: .fixed64, PROTOBUF_C_TYPE_FLOAT: .float, PROTOBUF_C_TYPE_DOUBLE: .double,
                PROTOBUF_C_TYPE_BOOL: .bool, PROTOBUF_C_TYPE_ENUM: .enum, PROTOBUF_C_TYPE_STRING: .string,
                PROTOBUF_C_TYPE_BYTES: .bytes, PROTOBUF_C_TYPE_MESSAGE: .message,
            ]
            var messageName: String?
            var enumValues: [Int32] = []
            if field.type == PROTOBUF_C_TYPE_MESSAGE, let child = field.descriptor {
                messageName = String(cString: child.assumingMemoryBound(to: ProtobufCMessageDescriptor.self).pointee.name)
            }
            if field.type == PROTOBUF_C_TYPE_ENUM, let child = field.descriptor {
                let enumDescriptor = child.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee
                enumValues = (0..<Int(enumDescriptor.n_values)).map { enumDescriptor.values[$0].value }
            }
            return ProtoFieldInfo(
                name: String(cString: field.name), number: field.id, kind: kinds[field.type] ?? .bytes,
                repeated: field.label == PROTOBUF_C_LABEL_REPEATED, messageName: messageName, enumValues: enumValues)
        }
    }
}
