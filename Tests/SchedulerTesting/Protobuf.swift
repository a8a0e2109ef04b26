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

/// SplitMix64: a small seeded generator, so every random test case can be replayed from its seed.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
