internal import CProtobufC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Memory for one message being written; everything is freed when the encode is done.
final class WriteArena {
    private var allocations: [UnsafeMutableRawPointer] = []
    /// The first mismatch between the Swift side and the schema, reported by `WireCodec.encode`.
    var schemaError: WireError?

    func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        // calloc of a positive size fails only when the process is out of memory.
        guard let pointer = calloc(1, max(size, 1)) else { fatalError("out of memory") }
        allocations.append(pointer)
        return pointer
    }

    func copy(_ string: String) -> UnsafeMutablePointer<CChar> {
        var utf8 = Array(string.utf8CString)
        let pointer = allocate(utf8.count)
        utf8.withUnsafeMutableBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return pointer.assumingMemoryBound(to: CChar.self)
    }

    func newMessage(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> UnsafeMutableRawPointer {
        let message = allocate(descriptor.pointee.sizeof_message)
        descriptor.pointee.message_init?(message.assumingMemoryBound(to: ProtobufCMessage.self))
        return message
    }

    deinit {
        for pointer in allocations { free(pointer) }
    }
}

/// Writes the fields of one protobuf-c message by their index in its descriptor (the generated
/// code knows each index). A field whose type does not match the schema is recorded and makes
/// the encode fail with `WireError.schema`.
public struct ProtoWriter {
    let base: UnsafeMutableRawPointer
    let descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    let arena: WriteArena

    init(descriptor: UnsafePointer<ProtobufCMessageDescriptor>, arena: WriteArena) {
        self.descriptor = descriptor
        self.arena = arena
        self.base = arena.newMessage(descriptor)
    }

    private func field(_ index: Int, _ types: [ProtobufCType], repeated: Bool = false) -> UnsafePointer<ProtobufCFieldDescriptor>? {
        guard index >= 0, index < Int(descriptor.pointee.n_fields), types.contains(descriptor.pointee.fields[index].type),
            (descriptor.pointee.fields[index].label == PROTOBUF_C_LABEL_REPEATED) == repeated
        else {
            if arena.schemaError == nil {
                arena.schemaError = WireError(
                    .schema, "cannot write field number \(index) of \(String(cString: descriptor.pointee.name))")
            }
            return nil
        }
        let field = descriptor.pointee.fields + index
        if field.pointee.flags & PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue != 0 {
            base.storeBytes(of: field.pointee.id, toByteOffset: Int(field.pointee.quantifier_offset), as: UInt32.self)
        }
        return field
    }

    private func store<T>(_ value: T, _ index: Int, _ types: [ProtobufCType]) {
        guard let field = field(index, types) else { return }
        base.storeBytes(of: value, toByteOffset: Int(field.pointee.offset), as: T.self)
    }

    public mutating func set(_ index: Int, uint64 value: UInt64) {
        store(value, index, [PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64])
    }

    public mutating func set(_ index: Int, int64 value: Int64) {
        store(value, index, [PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64])
    }

    public mutating func set(_ index: Int, uint32 value: UInt32) {
        store(value, index, [PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32])
    }

    public mutating func set(_ index: Int, int32 value: Int32) {
        store(value, index, [PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32])
    }

    public mutating func set(_ index: Int, double value: Double) {
        store(value, index, [PROTOBUF_C_TYPE_DOUBLE])
    }

    public mutating func set(_ index: Int, float value: Float) {
        store(value, index, [PROTOBUF_C_TYPE_FLOAT])
    }

    /// The protobuf types whose C representation is `T` (`Int32` also stands for enums).
    static func integerTypes<T: FixedWidthInteger>(_ type: T.Type) -> [ProtobufCType] {
        switch (T.bitWidth, T.isSigned) {
        case (32, true): [PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_ENUM]
        case (32, false): [PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32]
        case (64, true): [PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64]
        case (64, false): [PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64]
        default: []
        }
    }

    public mutating func set(_ index: Int, bool value: Bool) {
        store(Int32(value ? 1 : 0), index, [PROTOBUF_C_TYPE_BOOL])
    }

    public mutating func set<E: ProtoEnum>(_ index: Int, enum value: E) {
        store(value.protoValue, index, [PROTOBUF_C_TYPE_ENUM])
    }

    public mutating func set(_ index: Int, enumNumber value: Int32) {
        store(value, index, [PROTOBUF_C_TYPE_ENUM])
    }

    public mutating func set(_ index: Int, string value: String) {
        guard let field = field(index, [PROTOBUF_C_TYPE_STRING]) else { return }
        base.storeBytes(of: arena.copy(value), toByteOffset: Int(field.pointee.offset), as: UnsafeMutablePointer<CChar>.self)
    }

    public mutating func set(_ index: Int, bytes value: [UInt8]) {
        guard let field = field(index, [PROTOBUF_C_TYPE_BYTES]) else { return }
        var data = ProtobufCBinaryData(len: 0, data: nil)
        if !value.isEmpty {
            let pointer = arena.allocate(value.count)
            value.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            data = ProtobufCBinaryData(len: value.count, data: pointer.assumingMemoryBound(to: UInt8.self))
        }
        base.storeBytes(of: data, toByteOffset: Int(field.pointee.offset), as: ProtobufCBinaryData.self)
    }

    private func child(of field: UnsafePointer<ProtobufCFieldDescriptor>) -> ProtoWriter {
        let descriptor = field.pointee.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
        return ProtoWriter(descriptor: descriptor, arena: arena)
    }

    /// Sets a message field; `nil` leaves it absent.
    public mutating func set<M: WireMessage>(_ index: Int, message value: M?) {
        guard let value else { return }
        guard let field = field(index, [PROTOBUF_C_TYPE_MESSAGE]) else { return }
        var child = child(of: field)
        value.write(to: &child)
        base.storeBytes(of: child.base, toByteOffset: Int(field.pointee.offset), as: UnsafeMutableRawPointer.self)
    }

    public mutating func set<M: WireMessage>(_ index: Int, messages values: [M]) {
        guard let field = field(index, [PROTOBUF_C_TYPE_MESSAGE], repeated: true), !values.isEmpty else { return }
        let array = arena.allocate(values.count * MemoryLayout<UnsafeMutableRawPointer>.stride)
        for (index, value) in values.enumerated() {
            var child = child(of: field)
            value.write(to: &child)
            array.storeBytes(of: child.base, toByteOffset: index * MemoryLayout<UnsafeMutableRawPointer>.stride, as: UnsafeMutableRawPointer.self)
        }
        setRepeated(field, array: array, count: values.count)
    }

    public mutating func set(_ index: Int, strings values: [String]) {
        guard let field = field(index, [PROTOBUF_C_TYPE_STRING], repeated: true), !values.isEmpty else { return }
        let array = arena.allocate(values.count * MemoryLayout<UnsafeMutableRawPointer>.stride)
        for (index, value) in values.enumerated() {
            array.storeBytes(of: arena.copy(value), toByteOffset: index * MemoryLayout<UnsafeMutableRawPointer>.stride, as: UnsafeMutablePointer<CChar>.self)
        }
        setRepeated(field, array: array, count: values.count)
    }

    /// Repeated integers or enum numbers; `T` must be the field's C type (`Int32` for enums).
    public mutating func set<T: FixedWidthInteger>(_ index: Int, integers values: [T]) {
        guard let field = field(index, Self.integerTypes(T.self), repeated: true), !values.isEmpty else { return }
        let array = arena.allocate(values.count * MemoryLayout<T>.stride)
        for (index, value) in values.enumerated() {
            array.storeBytes(of: value, toByteOffset: index * MemoryLayout<T>.stride, as: T.self)
        }
        setRepeated(field, array: array, count: values.count)
    }

    public mutating func set<E: ProtoEnum>(_ index: Int, enums values: [E]) {
        set(index, integers: values.map(\.protoValue))
    }

    private func setRepeated(_ field: UnsafePointer<ProtobufCFieldDescriptor>, array: UnsafeMutableRawPointer, count: Int) {
        base.storeBytes(of: count, toByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
        base.storeBytes(of: array, toByteOffset: Int(field.pointee.offset), as: UnsafeMutableRawPointer.self)
    }
}
