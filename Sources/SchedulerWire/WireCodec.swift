internal import CProtobufC

/// Encodes and decodes `WireMessage` values with protobuf-c.
public enum WireCodec {
    /// The default decode budget: 16 times the default frame limit.
    public static let defaultDecodeBudget = 64 << 20

    /// Decodes `bytes` as `M`, allocating at most `budget` bytes on the way.
    public static func decode<M: WireMessage>(
        _ type: M.Type,
        from bytes: some Collection<UInt8>,
        budget: Int = defaultDecodeBudget
    ) throws(WireError) -> M {
        let descriptor = try M.protoDescriptor.resolved()
        let outcome: Result<M, WireError>? = bytes.withContiguousStorageIfAvailable { buffer in
            decode(M.self, descriptor: descriptor, buffer: UnsafeRawBufferPointer(buffer), budget: budget)
        }
        if let outcome { return try outcome.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBytes { decode(M.self, descriptor: descriptor, buffer: $0, budget: budget) }.get()
    }

    /// Decodes raw memory as `M`, allocating at most `budget` bytes on the way.
    public static func decode<M: WireMessage>(
        _ type: M.Type,
        from buffer: UnsafeRawBufferPointer,
        budget: Int = defaultDecodeBudget
    ) throws(WireError) -> M {
        let descriptor = try M.protoDescriptor.resolved()
        return try decode(M.self, descriptor: descriptor, buffer: buffer, budget: budget).get()
    }

    private static func decode<M: WireMessage>(
        _ type: M.Type,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        buffer: UnsafeRawBufferPointer,
        budget: Int
    ) -> Result<M, WireError> {
        if let field = StringScan.nulField(buffer, descriptor) {
            return .failure(WireError(.malformed, "\(field) holds a NUL byte, which no text may", field: field))
        }
        let (result, exceeded) = withBudgetAllocator(budget: budget) { allocator -> Result<M, WireError> in
            let data = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
            guard let message = protobuf_c_message_unpack(descriptor, allocator, buffer.count, data) else {
                return .failure(WireError(.malformed, "payload is not a valid \(M.protoName)"))
            }
            defer { protobuf_c_message_free_unpacked(message, allocator) }
            return Result { () throws(WireError) -> M in try M(reader: ProtoReader(message: message, path: "")) }
        }
        if exceeded {
            return .failure(WireError(.budgetExceeded, "decoding \(M.protoName) needs more than the decode budget of \(budget) bytes"))
        }
        return result
    }

    /// Encodes `message` with protobuf-c.
    public static func encode<M: WireMessage>(_ message: M) throws(WireError) -> [UInt8] {
        let descriptor = try M.protoDescriptor.resolved()
        let arena = WriteArena()
        var writer = ProtoWriter(descriptor: descriptor, arena: arena)
        message.write(to: &writer)
        if let error = arena.schemaError { throw error }
        let root = writer.base.assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(root)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = size == 0 ? 0 : protobuf_c_message_pack(root, buffer.baseAddress)
        }
    }
}
