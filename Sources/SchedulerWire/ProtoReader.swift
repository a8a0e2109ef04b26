internal import CProtobufC

/// Reads the fields of one unpacked protobuf-c message by their index in its descriptor (the
/// generated code knows each index). Valid only inside `WireMessage.init(reader:)`: the memory
/// belongs to the decoder.
public struct ProtoReader {
    let base: UnsafeRawPointer
    let descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    /// The path of this message inside the top-level one, `""` at the top, else ending in `.`.
    let path: String

    init(message: UnsafeRawPointer, path: String) {
        self.base = message
        self.descriptor = message.load(as: UnsafePointer<ProtobufCMessageDescriptor>.self)
        self.path = path
    }

    private func field(_ index: Int, _ types: [ProtobufCType]) throws(WireError) -> UnsafePointer<ProtobufCFieldDescriptor> {
        guard index >= 0, index < Int(descriptor.pointee.n_fields) else {
            throw WireError(.schema, "\(String(cString: descriptor.pointee.name)) has no field number \(index)")
        }
        let field = descriptor.pointee.fields + index
        guard types.contains(field.pointee.type) else {
            throw WireError(.schema, "\(String(cString: descriptor.pointee.name)).\(String(cString: field.pointee.name)) has another type")
        }
        return field
    }

    private func fieldName(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> String { String(cString: field.pointee.name) }

    private func isRepeated(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> Bool {
        field.pointee.label == PROTOBUF_C_LABEL_REPEATED
    }

    /// For a member of a `oneof`, whether it is the one set; other fields are always present.
    private func isSet(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> Bool {
        guard field.pointee.flags & PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue != 0 else { return true }
        return base.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: UInt32.self) == field.pointee.id
    }

    private func scalar<T: BinaryInteger>(_ index: Int, _ types: [ProtobufCType], as: T.Type) throws(WireError) -> T {
        let field = try self.field(index, types)
        guard !isRepeated(field), isSet(field) else { return 0 }
        return base.load(fromByteOffset: Int(field.pointee.offset), as: T.self)
    }

    private func repeatedElements(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> (UnsafeRawPointer?, Int) {
        let count = base.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
        let elements = base.load(fromByteOffset: Int(field.pointee.offset), as: UnsafeRawPointer?.self)
        return (count > 0 ? elements : nil, count)
    }

    private func decodeString(_ pointer: UnsafePointer<CChar>?, field name: String) throws(WireError) -> String {
        guard let pointer else { return "" }
        guard let string = String(validatingCString: pointer) else {
            throw WireError(.invalidUTF8, "field \(path)\(name) is not valid UTF-8", field: path + name)
        }
        return string
    }

    public func uint64(_ index: Int) throws(WireError) -> UInt64 {
        try scalar(index, [PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64], as: UInt64.self)
    }

    public func int64(_ index: Int) throws(WireError) -> Int64 {
        try scalar(index, [PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64], as: Int64.self)
    }

    public func uint32(_ index: Int) throws(WireError) -> UInt32 {
        try scalar(index, [PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32], as: UInt32.self)
    }

    public func int32(_ index: Int) throws(WireError) -> Int32 {
        try scalar(index, [PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32], as: Int32.self)
    }

    public func double(_ index: Int) throws(WireError) -> Double {
        let field = try self.field(index, [PROTOBUF_C_TYPE_DOUBLE])
        guard !isRepeated(field), isSet(field) else { return 0 }
        return base.load(fromByteOffset: Int(field.pointee.offset), as: Double.self)
    }

    public func float(_ index: Int) throws(WireError) -> Float {
        let field = try self.field(index, [PROTOBUF_C_TYPE_FLOAT])
        guard !isRepeated(field), isSet(field) else { return 0 }
        return base.load(fromByteOffset: Int(field.pointee.offset), as: Float.self)
    }

    public func bool(_ index: Int) throws(WireError) -> Bool {
        try scalar(index, [PROTOBUF_C_TYPE_BOOL], as: Int32.self) != 0
    }

    public func string(_ index: Int) throws(WireError) -> String {
        let field = try self.field(index, [PROTOBUF_C_TYPE_STRING])
        guard !isRepeated(field), isSet(field) else { return "" }
        let pointer = base.load(fromByteOffset: Int(field.pointee.offset), as: UnsafePointer<CChar>?.self)
        return try decodeString(pointer, field: fieldName(field))
    }

    public func bytes(_ index: Int) throws(WireError) -> [UInt8] {
        let field = try self.field(index, [PROTOBUF_C_TYPE_BYTES])
        guard !isRepeated(field), isSet(field) else { return [] }
        let data = base.load(fromByteOffset: Int(field.pointee.offset), as: ProtobufCBinaryData.self)
        guard data.len > 0, let bytes = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: data.len))
    }

    /// An enum field's number, unchecked.
    public func enumNumber(_ index: Int) throws(WireError) -> Int32 {
        try scalar(index, [PROTOBUF_C_TYPE_ENUM], as: Int32.self)
    }

    /// An enum field; a number the Swift type does not know is `invalidEnum`, naming the field.
    public func `enum`<E: ProtoEnum>(_ index: Int, as type: E.Type = E.self) throws(WireError) -> E {
        let raw = try scalar(index, [PROTOBUF_C_TYPE_ENUM], as: Int32.self)
        guard let value = E(protoValue: raw) else {
            let name = fieldName(try self.field(index, [PROTOBUF_C_TYPE_ENUM]))
            throw WireError(.invalidEnum, "field \(path)\(name) has unknown value \(raw)", field: path + name)
        }
        return value
    }

    /// A message field, `nil` when absent.
    public func message<M: WireMessage>(_ index: Int, as type: M.Type = M.self) throws(WireError) -> M? {
        let field = try self.field(index, [PROTOBUF_C_TYPE_MESSAGE])
        guard !isRepeated(field), isSet(field),
            let child = base.load(fromByteOffset: Int(field.pointee.offset), as: UnsafeRawPointer?.self)
        else { return nil }
        return try M(reader: ProtoReader(message: child, path: path + fieldName(field) + "."))
    }

    public func repeatedMessages<M: WireMessage>(_ index: Int, as type: M.Type = M.self) throws(WireError) -> [M] {
        let field = try self.field(index, [PROTOBUF_C_TYPE_MESSAGE])
        guard isRepeated(field) else { throw WireError(.schema, "\(fieldName(field)) is not repeated") }
        let name = fieldName(field)
        let (elements, count) = repeatedElements(field)
        guard let elements else { return [] }
        var result: [M] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let child = elements.load(fromByteOffset: index * MemoryLayout<UnsafeRawPointer>.stride, as: UnsafeRawPointer?.self)
            else { throw WireError(.malformed, "field \(path)\(name)[\(index)] is missing", field: "\(path)\(name)[\(index)]") }
            result.append(try M(reader: ProtoReader(message: child, path: "\(path)\(name)[\(index)].")))
        }
        return result
    }

    public func repeatedStrings(_ index: Int) throws(WireError) -> [String] {
        let field = try self.field(index, [PROTOBUF_C_TYPE_STRING])
        guard isRepeated(field) else { throw WireError(.schema, "\(fieldName(field)) is not repeated") }
        let name = fieldName(field)
        let (elements, count) = repeatedElements(field)
        guard let elements else { return [] }
        var result: [String] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            let pointer = elements.load(fromByteOffset: index * MemoryLayout<UnsafeRawPointer>.stride, as: UnsafePointer<CChar>?.self)
            result.append(try decodeString(pointer, field: "\(name)[\(index)]"))
        }
        return result
    }

    /// Repeated integer or enum numbers (packed or not), as their C type `T`.
    public func repeatedIntegers<T: FixedWidthInteger>(_ index: Int, as type: T.Type) throws(WireError) -> [T] {
        let field = try self.field(index, ProtoWriter.integerTypes(T.self))
        guard isRepeated(field) else { throw WireError(.schema, "\(fieldName(field)) is not repeated") }
        let (elements, count) = repeatedElements(field)
        guard let elements else { return [] }
        return (0..<count).map { elements.load(fromByteOffset: $0 * MemoryLayout<T>.stride, as: T.self) }
    }

    /// Repeated enum values; an unknown number is `invalidEnum`, naming the element.
    public func repeatedEnums<E: ProtoEnum>(_ index: Int, as type: E.Type = E.self) throws(WireError) -> [E] {
        let raws = try repeatedIntegers(index, as: Int32.self)
        let name = fieldName(try self.field(index, [PROTOBUF_C_TYPE_ENUM]))
        var result: [E] = []
        for (index, raw) in raws.enumerated() {
            guard let value = E(protoValue: raw) else {
                throw WireError(.invalidEnum, "field \(path)\(name)[\(index)] has unknown value \(raw)", field: "\(path)\(name)[\(index)]")
            }
            result.append(value)
        }
        return result
    }
}
