import SchedulerCore
import SchedulerTesting
import SchedulerWire
import Testing

struct MessageCodecTests {
    let token = TokenInfoMessage(
        id: "tok_abc", role: .manager, scope: "site:almaty", name: "Almaty office — Алматы", createdAtMs: 1_795_000_000_123,
        revokedAtMs: 0, createdBy: "tok_root")

    @Test func roundTripsEveryAdminMessage() throws {
        try roundTrip(HealthRequest())
        try roundTrip(HealthResponse(version: "0.1.0", store: "sqlite", uptimeMs: 123_456))
        try roundTrip(WhoAmIResponse(token: token))
        try roundTrip(WhoAmIResponse(token: nil))
        try roundTrip(CreateTokenRequest(role: .coordinator, scope: "site:astana", name: "x"))
        try roundTrip(CreateTokenResponse(token: token, secret: "sos_secret"))
        try roundTrip(RevokeTokenRequest(id: "tok_abc"))
        try roundTrip(ListTokensRequest(includeRevoked: true, pageSize: 50, pageToken: "17"))
        var second = token
        second.id = "tok_def"
        second.role = .admin
        second.revokedAtMs = 1_795_000_999_000
        try roundTrip(ListTokensResponse(tokens: [token, second, token], nextPageToken: "99"))
        try roundTrip(
            BadRequest(violations: [FieldViolationMessage(field: "role", description: "required"), FieldViolationMessage(field: "scope", description: "bad")]))
    }

    private func roundTrip<M: WireMessage & Equatable>(_ message: M) throws {
        let bytes = try WireCodec.encode(message)
        let decoded = try WireCodec.decode(M.self, from: bytes)
        #expect(decoded == message)
    }

    @Test func encodesLikeProtobuf() throws {
        // Field 1 (string "0.1.0"), field 2 (string "sqlite"), field 3 (varint 300).
        let bytes = try WireCodec.encode(HealthResponse(version: "0.1.0", store: "sqlite", uptimeMs: 300))
        #expect(bytes == [0x0a, 5] + Array("0.1.0".utf8) + [0x12, 6] + Array("sqlite".utf8) + [0x18, 0xac, 0x02])
        #expect(try WireCodec.encode(HealthRequest()).isEmpty)
    }

    @Test func detailWrapsAMessage() throws {
        let bad = BadRequest(violations: [FieldViolationMessage(field: "page_size", description: "too big")])
        let detail = try Detail(bad)
        #expect(detail.type == "sos.rpc.v1.BadRequest")
        #expect(try detail.decode(as: BadRequest.self) == bad)
        #expect(try detail.decode(as: HealthResponse.self) == nil)
    }

    @Test func invalidUTF8NamesTheField() throws {
        // CreateTokenRequest.name (field 3) holding 0xff 0xfe.
        let bytes: [UInt8] = [0x08, 0x01, 0x1a, 0x02, 0xff, 0xfe]
        #expect {
            try WireCodec.decode(CreateTokenRequest.self, from: bytes)
        } throws: { error in
            (error as? WireError)?.code == .invalidUTF8 && (error as? WireError)?.field == "name"
        }
    }

    @Test func invalidUTF8InANestedFieldNamesItsPath() throws {
        // ListTokensResponse.tokens[0].scope = 0xc3 (truncated sequence).
        let inner: [UInt8] = [0x1a, 0x01, 0xc3]
        let bytes: [UInt8] = [0x0a, UInt8(inner.count)] + inner
        #expect {
            try WireCodec.decode(ListTokensResponse.self, from: bytes)
        } throws: { error in
            (error as? WireError)?.field == "tokens[0].scope"
        }
    }

    @Test func unknownEnumValueNamesTheField() throws {
        // CreateTokenRequest.role = 42.
        #expect {
            try WireCodec.decode(CreateTokenRequest.self, from: [0x08, 42])
        } throws: { error in
            (error as? WireError)?.code == .invalidEnum && (error as? WireError)?.field == "role"
        }
    }

    @Test func wrongWireTypeIsMalformed() throws {
        // HealthResponse.version (field 1) sent as a varint.
        #expect {
            try WireCodec.decode(HealthResponse.self, from: [0x08, 0x01])
        } throws: { error in
            (error as? WireError)?.code == .malformed
        }
    }

    @Test func deeplyNestedInputIsACleanError() throws {
        // 10,000 levels of field 1 length-delimited, as a self-nesting message would be encoded.
        let bytes = deeplyNested(levels: 10_000)
        #expect(throws: WireError.self) { try WireCodec.decode(ListTokensResponse.self, from: bytes) }
        #expect(throws: WireError.self) { try WireCodec.decode(WhoAmIResponse.self, from: bytes) }
    }

    @Test func decodeBudgetStopsExplodingInput() throws {
        // 1 MiB of empty repeated messages: each 2-byte element costs a whole TokenInfoMessage struct.
        let bytes: [UInt8] = (0..<(1 << 20)).map { $0 % 2 == 0 ? 0x0a : 0x00 }
        #expect {
            try WireCodec.decode(ListTokensResponse.self, from: bytes, budget: 4 << 20)
        } throws: { error in
            (error as? WireError)?.code == .budgetExceeded
        }
        // With room to spare the same input decodes.
        let decoded = try WireCodec.decode(ListTokensResponse.self, from: bytes, budget: 1 << 30)
        #expect(decoded.tokens.count == 1 << 19)
    }

    @Test func randomBytesNeverCrash() throws {
        var generator = SeededRandom(seed: 0x5eed)
        var decodedCount = 0
        for _ in 0..<5_000 {
            let count = Int.random(in: 0..<64, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if (try? WireCodec.decode(ListTokensResponse.self, from: bytes, budget: 1 << 20)) != nil { decodedCount += 1 }
            _ = try? WireCodec.decode(CreateTokenRequest.self, from: bytes, budget: 1 << 20)
        }
        // Some random inputs are valid messages (e.g. empty ones); most are not.
        #expect(decodedCount > 0 && decodedCount < 5_000)
    }

    @Test func everyServiceMethodIsFoundInTheGeneratedDescriptors() {
        let paths = Set(MethodDescriptor.all.map(\.path))
        for name in ["Health", "WhoAmI", "CreateToken", "RevokeToken", "ListTokens"] {
            #expect(paths.contains("/sos.scheduler.v1.AdminService/\(name)"))
        }
        let health = MethodDescriptor.all.first { $0.name == "Health" }
        #expect(health?.inputType == "sos.scheduler.v1.HealthRequest")
        #expect(health?.outputType == "sos.scheduler.v1.HealthResponse")
    }
}
