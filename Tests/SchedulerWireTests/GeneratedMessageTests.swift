import SchedulerTesting
import SchedulerWire
import Testing

/// The generated Swift wire layer against protobuf-c: every generated message decodes and
/// re-encodes random valid encodings byte for byte. The encodings are written here from the
/// descriptor's field list with the protobuf wire rules (fields in number order, proto3 zero
/// values left out, repeated numbers packed, as protobuf-c packs them), not with the generated code.
struct GeneratedMessageTests {
    @Test func everyGeneratedMessageRoundTripsRandomEncodingsThroughProtobufC() throws {
        var random = SeededRandom(seed: 0x5050_C0DE)
        #expect(GeneratedMessages.all.count >= 80)
        for type in GeneratedMessages.all {
            for _ in 0..<60 {
                try roundTrip(type, random: &random)
            }
        }
    }

    @Test func generatedFieldOrderIsTheDescriptorsOrder() {
        for type in GeneratedMessages.all {
            #expect(type.protoFieldNames == type.protoDescriptor.fieldNames, "\(type.protoName)")
            #expect(!type.protoDescriptor.fieldNames.isEmpty || type.protoFieldNames.isEmpty)
        }
    }

    @Test func generatedMethodsAreTheServiceDescriptorsMethods() {
        let generated = Set(RPC.allMethods.map { "\($0.path) \($0.requestName) \($0.responseName)" })
        let described = Set(MethodDescriptor.all.map { "\($0.path) \($0.inputType) \($0.outputType)" })
        #expect(generated == described)
        #expect(generated.count == RPC.allMethods.count)
        // The path form of the wire contract (Docs/protocol.md): "/" + service full name + "/" + method.
        #expect(RPC.AdminService.health.path == "/sos.scheduler.v1.AdminService/Health")
        #expect(RPC.AdminService.health.kind == .unary)
    }

    private func roundTrip<M: WireMessage>(_ type: M.Type, random: inout SeededRandom) throws {
        let bytes = encodeRandom(M.protoDescriptor, depth: 0, random: &random)
        let decoded = try WireCodec.decode(M.self, from: bytes)
        let again = try WireCodec.encode(decoded)
        #expect(again == bytes, "\(M.protoName): \(bytes) came back as \(again)")
    }
}

// MARK: A random encoder written from the protobuf wire rules

private func encodeRandom(_ descriptor: ProtoMessageDescriptor, depth: Int, random: inout SeededRandom) -> [UInt8] {
    var out: [UInt8] = []
    for field in descriptor.fields.sorted(by: { $0.number < $1.number }) {
        if field.repeated {
            let count = Int(random.next() % 4)
            if count == 0 { continue }
            switch field.kind {
            case .string, .bytes, .message:
                for _ in 0..<count {
                    let body: [UInt8]
                    switch field.kind {
                    case .string: body = randomText(&random)
                    case .bytes: body = randomBytes(&random)
                    default:
                        guard depth < 3, let name = field.messageName, let child = GeneratedMessages.descriptor(named: name) else { continue }
                        body = encodeRandom(child, depth: depth + 1, random: &random)
                    }
                    appendTag(field.number, 2, &out)
                    appendVarint(UInt64(body.count), &out)
                    out += body
                }
            default:
                var packed: [UInt8] = []
                for _ in 0..<count { appendValue(randomNumber(field, &random, allowZero: true), field.kind, &packed) }
                appendTag(field.number, 2, &out)
                appendVarint(UInt64(packed.count), &out)
                out += packed
            }
            continue
        }
        if random.next() % 4 == 0 { continue }  // left at its default
        switch field.kind {
        case .string:
            let text = randomText(&random)
            if text.isEmpty { continue }
            appendTag(field.number, 2, &out)
            appendVarint(UInt64(text.count), &out)
            out += text
        case .bytes:
            let bytes = randomBytes(&random)
            if bytes.isEmpty { continue }
            appendTag(field.number, 2, &out)
            appendVarint(UInt64(bytes.count), &out)
            out += bytes
        case .message:
            guard depth < 3, let name = field.messageName, let child = GeneratedMessages.descriptor(named: name) else { continue }
            let body = encodeRandom(child, depth: depth + 1, random: &random)
            appendTag(field.number, 2, &out)
            appendVarint(UInt64(body.count), &out)
            out += body
        default:
            let value = randomNumber(field, &random, allowZero: false)
            appendTag(field.number, wireType(field.kind), &out)
            appendValue(value, field.kind, &out)
        }
    }
    return out
}

extension GeneratedMessages {
    static func descriptor(named name: String) -> ProtoMessageDescriptor? {
        all.first { $0.protoName == name }?.protoDescriptor
    }
}

private func wireType(_ kind: ProtoFieldInfo.Kind) -> UInt64 {
    switch kind {
    case .fixed64, .sfixed64, .double: 1
    case .fixed32, .sfixed32, .float: 5
    default: 0
    }
}

/// A random value as its 64-bit pattern; never 0 unless `allowZero`.
private func randomNumber(_ field: ProtoFieldInfo, _ random: inout SeededRandom, allowZero: Bool) -> UInt64 {
    while true {
        let raw = random.next()
        let value: UInt64
        switch field.kind {
        case .bool: value = 1
        case .enum: value = UInt64(bitPattern: Int64(field.enumValues[Int(raw % UInt64(field.enumValues.count))]))
        case .int32, .sint32, .sfixed32: value = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: raw >> (raw % 32))))
        case .uint32, .fixed32: value = UInt64(UInt32(truncatingIfNeeded: raw >> (raw % 32)))
        case .float: value = UInt64(Float(Int32(truncatingIfNeeded: raw) % 1000).bitPattern)
        case .double: value = Double(Int64(truncatingIfNeeded: raw) % 100_000).bitPattern
        default: value = raw >> (raw % 64)
        }
        if value != 0 || allowZero { return value }
    }
}

private func appendValue(_ value: UInt64, _ kind: ProtoFieldInfo.Kind, _ out: inout [UInt8]) {
    switch kind {
    case .sint32:
        let v = Int32(truncatingIfNeeded: Int64(bitPattern: value))
        appendVarint(UInt64(UInt32(bitPattern: (v << 1) ^ (v >> 31))), &out)
    case .sint64:
        let v = Int64(bitPattern: value)
        appendVarint(UInt64(bitPattern: (v << 1) ^ (v >> 63)), &out)
    case .fixed32, .sfixed32, .float:
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    case .fixed64, .sfixed64, .double:
        for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    default:
        appendVarint(value, &out)
    }
}

private func appendTag(_ number: UInt32, _ wire: UInt64, _ out: inout [UInt8]) {
    appendVarint(UInt64(number) << 3 | wire, &out)
}

private func appendVarint(_ value: UInt64, _ out: inout [UInt8]) {
    var v = value
    while v >= 0x80 {
        out.append(UInt8(v & 0x7F) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
}

/// Random UTF-8 without NUL (which the codec refuses in any text): ASCII, Cyrillic, Kazakh, emoji.
private func randomText(_ random: inout SeededRandom) -> [UInt8] {
    let alphabet: [Character] = ["a", "Z", "0", "-", " ", "ж", "Ә", "ү", "😀", "é", "\n"]
    let count = Int(random.next() % 12)
    return Array(String((0..<count).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }).utf8)
}

private func randomBytes(_ random: inout SeededRandom) -> [UInt8] {
    (0..<Int(random.next() % 10)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
}
