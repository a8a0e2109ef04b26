/// Protobuf's base-128 varint, for tests that build wire bytes by hand.
public func varint(_ value: Int) -> [UInt8] {
    var value = UInt64(value)
    var bytes: [UInt8] = []
    repeat {
        var byte = UInt8(value & 0x7f)
        value >>= 7
        if value != 0 { byte |= 0x80 }
        bytes.append(byte)
    } while value != 0
    return bytes
}

/// `levels` levels of field 1 (length-delimited) inside each other, as a self-nesting
/// message would be encoded.
public func deeplyNested(levels: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    for _ in 0..<levels { bytes = [0x0a] + varint(bytes.count) + bytes }
    return bytes
}
