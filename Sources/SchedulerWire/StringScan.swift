internal import CProtobufC

/// protobuf-c hands string fields over as C strings, so a string with a NUL byte inside would
/// arrive cut short: "key\0a" and "key\0b" would be one idempotency key, "token\0junk" the
/// token. Before a message is unpacked, its wire bytes are walked with its descriptor and a
/// string field holding a NUL byte is refused, named.
enum StringScan {
    /// The dotted path of the first string field in `bytes` (a `descriptor` message) that holds
    /// a NUL byte; nil if there is none. Bytes that are not valid protobuf end the walk quietly:
    /// unpacking reports them.
    static func nulField(_ bytes: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, path: String = "", depth: Int = 0) -> String?
    {
        guard depth < 32 else { return nil }
        var reader = VarintReader(bytes: bytes)
        while !reader.atEnd {
            guard let tag = reader.varint() else { return nil }
            let number = UInt32(truncatingIfNeeded: tag >> 3)
            switch tag & 7 {
            case 0:
                guard reader.varint() != nil else { return nil }
            case 1:
                guard reader.skip(8) else { return nil }
            case 5:
                guard reader.skip(4) else { return nil }
            case 2:
                guard let length = reader.varint(), let slice = reader.take(length) else { return nil }
                guard let field = protobuf_c_message_descriptor_get_field(descriptor, number) else { continue }
                let name = path.isEmpty ? String(cString: field.pointee.name) : path + "." + String(cString: field.pointee.name)
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    if slice.contains(0) { return name }
                case PROTOBUF_C_TYPE_MESSAGE:
                    guard let inner = field.pointee.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self) else { continue }
                    if let found = nulField(slice, inner, path: name, depth: depth + 1) { return found }
                default:
                    continue
                }
            default:
                return nil
            }
        }
        return nil
    }

    private struct VarintReader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var atEnd: Bool { offset >= bytes.count }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count, shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }

        mutating func skip(_ count: Int) -> Bool {
            guard bytes.count - offset >= count else { return false }
            offset += count
            return true
        }

        mutating func take(_ length: UInt64) -> UnsafeRawBufferPointer? {
            guard length <= UInt64(bytes.count - offset) else { return nil }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
            offset += Int(length)
            return slice
        }
    }
}
