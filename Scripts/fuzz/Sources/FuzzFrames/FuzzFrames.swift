import NIOCore
import SchedulerWire

/// One input: split into chunks at the byte values the fuzzer chooses, fed to a frame reader;
/// every complete frame is decoded as a client frame, and every call payload as each request
/// type. Any outcome is fine except a crash, a hang or a leak.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    var reader = FrameReader(maxFrameBytes: 1 << 16)
    var offset = 0
    while offset < bytes.count {
        let step = max(1, Int(bytes[offset] % 64))
        var chunk = ByteBuffer(bytes: bytes[offset..<min(bytes.count, offset + step)])
        offset += step
        reader.append(&chunk)
        while let body = try? reader.next() {
            guard case .frame(.call(let call))? = try? FrameCodec.decodeClientFrame(body, budget: 1 << 20) else { continue }
            decodeAll(call.payload)
        }
    }
    // The whole input as a payload too, without framing.
    decodeAll(bytes)
    return 0
}

private func decodeAll(_ payload: [UInt8]) {
    _ = try? WireCodec.decode(CreateTokenRequest.self, from: payload, budget: 1 << 20)
    _ = try? WireCodec.decode(ListTokensRequest.self, from: payload, budget: 1 << 20)
    _ = try? WireCodec.decode(CreateNurseryRequest.self, from: payload, budget: 1 << 20)
    _ = try? WireCodec.decode(UpdateGroupRequest.self, from: payload, budget: 1 << 20)
    _ = try? WireCodec.decode(BookPlaceRequest.self, from: payload, budget: 1 << 20)
    _ = try? WireCodec.decode(ListPlacementsRequest.self, from: payload, budget: 1 << 20)
    _ = try? WireCodec.decode(BookingConflictDetail.self, from: payload, budget: 1 << 20)
    _ = try? WireCodec.decode(GetOccupancyResponse.self, from: payload, budget: 1 << 20)
}
