internal import CProtobufC
internal import CSchedulerProto
import NIOCore

/// Encodes and decodes the frames of `frames.proto` with protobuf-c, straight from and into
/// `ByteBuffer`s: this is the hot path, so it uses the generated structs directly.
public enum FrameCodec {
    // MARK: Client frames

    /// Decodes the body of one client frame (without its length prefix).
    public static func decodeClientFrame(_ body: ByteBuffer, budget: Int) throws(WireError) -> DecodedClientFrame {
        let result: Result<DecodedClientFrame, WireError> = body.withUnsafeReadableBytes { buffer in
            // A call field with a NUL byte would arrive cut short (see StringScan): the call is refused.
            let nul = withUnsafePointer(to: sos__rpc__v1__client_frame__descriptor) { StringScan.nulField(buffer, $0) }
            let (result, exceeded) = withBudgetAllocator(budget: budget) { allocator -> Result<DecodedClientFrame, WireError> in
                let data = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
                guard let frame = sos__rpc__v1__client_frame__unpack(allocator, buffer.count, data) else {
                    return .failure(WireError(.malformed, "frame is not a valid sos.rpc.v1.ClientFrame"))
                }
                defer { sos__rpc__v1__client_frame__free_unpacked(frame, allocator) }
                if let nul, frame.pointee.kind_case == SOS__RPC__V1__CLIENT_FRAME__KIND_CALL, let call = frame.pointee.call {
                    let field = nul.hasPrefix("call.") ? String(nul.dropFirst(5)) : nul
                    return .success(
                        .invalidCall(callID: call.pointee.call_id, error: WireError(.malformed, "call field \(field) holds a NUL byte", field: field)))
                }
                return readClientFrame(frame.pointee)
            }
            if exceeded {
                return .failure(WireError(.budgetExceeded, "decoding the frame needs more than the decode budget of \(budget) bytes"))
            }
            return result
        }
        return try result.get()
    }

    private static func readClientFrame(_ frame: Sos__Rpc__V1__ClientFrame) -> Result<DecodedClientFrame, WireError> {
        switch frame.kind_case {
        case SOS__RPC__V1__CLIENT_FRAME__KIND_CALL:
            guard let call = frame.call?.pointee else {
                return .failure(WireError(.malformed, "call is missing"))
            }
            let id = call.call_id
            func text(_ pointer: UnsafeMutablePointer<CChar>?, _ field: String) throws(WireError) -> String {
                guard let pointer else { return "" }
                guard let string = String(validatingCString: pointer) else {
                    throw WireError(.invalidUTF8, "call field \(field) is not valid UTF-8", field: field)
                }
                return string
            }
            do throws(WireError) {
                let method = try text(call.method, "method")
                let authorization = try text(call.authorization, "authorization")
                let key = try text(call.idempotency_key, "idempotency_key")
                let payload: [UInt8] =
                    if call.payload.len > 0, let data = call.payload.data {
                        Array(UnsafeBufferPointer(start: data, count: call.payload.len))
                    } else { [] }
                return .success(
                    .frame(
                        .call(
                            Call(
                                callID: id, method: method, payload: payload, timeoutMs: call.timeout_ms,
                                authorization: authorization, idempotencyKey: key))))
            } catch {
                return .success(.invalidCall(callID: id, error: error))
            }
        case SOS__RPC__V1__CLIENT_FRAME__KIND_CANCEL:
            return .success(.frame(.cancel(callID: frame.cancel?.pointee.call_id ?? 0)))
        case SOS__RPC__V1__CLIENT_FRAME__KIND_PING:
            return .success(.frame(.ping(opaque: frame.ping?.pointee.opaque ?? 0)))
        default:
            return .failure(WireError(.malformed, "frame holds none of call, cancel, ping"))
        }
    }

    /// Appends one client frame, with its length prefix, to `buffer`.
    public static func encode(_ frame: ClientFrame, into buffer: inout ByteBuffer) {
        var message = Sos__Rpc__V1__ClientFrame()
        sos__rpc__v1__client_frame__init(&message)
        switch frame {
        case .call(let call):
            var c = Sos__Rpc__V1__Call()
            sos__rpc__v1__call__init(&c)
            c.call_id = call.callID
            c.timeout_ms = call.timeoutMs
            call.method.withCString { method in
                call.authorization.withCString { authorization in
                    call.idempotencyKey.withCString { key in
                        call.payload.withUnsafeBufferPointer { payload in
                            c.method = UnsafeMutablePointer(mutating: method)
                            c.authorization = UnsafeMutablePointer(mutating: authorization)
                            c.idempotency_key = UnsafeMutablePointer(mutating: key)
                            c.payload = ProtobufCBinaryData(len: payload.count, data: UnsafeMutablePointer(mutating: payload.baseAddress))
                            withUnsafeMutablePointer(to: &c) { pointer in
                                message.kind_case = SOS__RPC__V1__CLIENT_FRAME__KIND_CALL
                                message.call = pointer
                                write(&message, into: &buffer)
                            }
                        }
                    }
                }
            }
        case .cancel(let id):
            var cancel = Sos__Rpc__V1__Cancel()
            sos__rpc__v1__cancel__init(&cancel)
            cancel.call_id = id
            withUnsafeMutablePointer(to: &cancel) { pointer in
                message.kind_case = SOS__RPC__V1__CLIENT_FRAME__KIND_CANCEL
                message.cancel = pointer
                write(&message, into: &buffer)
            }
        case .ping(let opaque):
            var ping = Sos__Rpc__V1__Ping()
            sos__rpc__v1__ping__init(&ping)
            ping.opaque = opaque
            withUnsafeMutablePointer(to: &ping) { pointer in
                message.kind_case = SOS__RPC__V1__CLIENT_FRAME__KIND_PING
                message.ping = pointer
                write(&message, into: &buffer)
            }
        }
    }

    private static func write(_ message: inout Sos__Rpc__V1__ClientFrame, into buffer: inout ByteBuffer) {
        let size = sos__rpc__v1__client_frame__get_packed_size(&message)
        buffer.writeInteger(UInt32(truncatingIfNeeded: size))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            sos__rpc__v1__client_frame__pack(&message, out.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
    }

    // MARK: Server frames

    /// Appends one server frame, with its length prefix, to `buffer`.
    public static func encode(_ frame: ServerFrame, into buffer: inout ByteBuffer) {
        var message = Sos__Rpc__V1__ServerFrame()
        sos__rpc__v1__server_frame__init(&message)
        switch frame {
        case .reply(let reply):
            withStatus(reply.status) { status in
                var r = Sos__Rpc__V1__Reply()
                sos__rpc__v1__reply__init(&r)
                r.call_id = reply.callID
                r.end_of_stream = reply.endOfStream ? 1 : 0
                r.status = status
                reply.payload.withUnsafeBufferPointer { payload in
                    r.payload = ProtobufCBinaryData(len: payload.count, data: UnsafeMutablePointer(mutating: payload.baseAddress))
                    withUnsafeMutablePointer(to: &r) { pointer in
                        message.kind_case = SOS__RPC__V1__SERVER_FRAME__KIND_REPLY
                        message.reply = pointer
                        write(&message, into: &buffer)
                    }
                }
            }
        case .pong(let opaque):
            var pong = Sos__Rpc__V1__Pong()
            sos__rpc__v1__pong__init(&pong)
            pong.opaque = opaque
            withUnsafeMutablePointer(to: &pong) { pointer in
                message.kind_case = SOS__RPC__V1__SERVER_FRAME__KIND_PONG
                message.pong = pointer
                write(&message, into: &buffer)
            }
        case .goAway(let goAway):
            withStatus(goAway.status) { status in
                var g = Sos__Rpc__V1__GoAway()
                sos__rpc__v1__go_away__init(&g)
                g.last_call_id = goAway.lastCallID
                g.status = status
                withUnsafeMutablePointer(to: &g) { pointer in
                    message.kind_case = SOS__RPC__V1__SERVER_FRAME__KIND_GO_AWAY
                    message.go_away = pointer
                    write(&message, into: &buffer)
                }
            }
        }
    }

    /// Calls `body` with a C `Status` that lives as long as the call.
    private static func withStatus(_ status: Status, _ body: (UnsafeMutablePointer<Sos__Rpc__V1__Status>) -> Void) {
        var s = Sos__Rpc__V1__Status()
        sos__rpc__v1__status__init(&s)
        s.code = Sos__Rpc__V1__Code(rawValue: numericCast(max(0, status.code.rawValue)))
        // Details are rare (errors only): an arena keeps their C copies alive.
        let arena = WriteArena()
        var detailPointers: [UnsafeMutablePointer<Sos__Rpc__V1__Detail>?] = status.details.map { detail in
            let raw = arena.allocate(MemoryLayout<Sos__Rpc__V1__Detail>.stride)
            let d = raw.assumingMemoryBound(to: Sos__Rpc__V1__Detail.self)
            sos__rpc__v1__detail__init(d)
            d.pointee.type = arena.copy(detail.type)
            if !detail.value.isEmpty {
                let bytes = arena.allocate(detail.value.count)
                detail.value.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                d.pointee.value = ProtobufCBinaryData(len: detail.value.count, data: bytes.assumingMemoryBound(to: UInt8.self))
            }
            return d
        }
        status.message.withCString { text in
            s.message = UnsafeMutablePointer(mutating: text)
            detailPointers.withUnsafeMutableBufferPointer { details in
                s.n_details = details.count
                s.details = details.count > 0 ? details.baseAddress : nil
                withUnsafeMutablePointer(to: &s) { body($0) }
            }
        }
        withExtendedLifetime(arena) {}
    }

    private static func write(_ message: inout Sos__Rpc__V1__ServerFrame, into buffer: inout ByteBuffer) {
        let size = sos__rpc__v1__server_frame__get_packed_size(&message)
        buffer.writeInteger(UInt32(truncatingIfNeeded: size))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            sos__rpc__v1__server_frame__pack(&message, out.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Decodes the body of one server frame (without its length prefix).
    public static func decodeServerFrame(_ body: ByteBuffer, budget: Int) throws(WireError) -> ServerFrame {
        let result: Result<ServerFrame, WireError> = body.withUnsafeReadableBytes { buffer in
            let (result, exceeded) = withBudgetAllocator(budget: budget) { allocator -> Result<ServerFrame, WireError> in
                let data = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
                guard let frame = sos__rpc__v1__server_frame__unpack(allocator, buffer.count, data) else {
                    return .failure(WireError(.malformed, "frame is not a valid sos.rpc.v1.ServerFrame"))
                }
                defer { sos__rpc__v1__server_frame__free_unpacked(frame, allocator) }
                return Result { () throws(WireError) -> ServerFrame in try readServerFrame(frame.pointee) }
            }
            if exceeded {
                return .failure(WireError(.budgetExceeded, "decoding the frame needs more than the decode budget of \(budget) bytes"))
            }
            return result
        }
        return try result.get()
    }

    private static func readServerFrame(_ frame: Sos__Rpc__V1__ServerFrame) throws(WireError) -> ServerFrame {
        switch frame.kind_case {
        case SOS__RPC__V1__SERVER_FRAME__KIND_REPLY:
            guard let reply = frame.reply?.pointee else { throw WireError(.malformed, "reply is missing") }
            let payload: [UInt8] =
                if reply.payload.len > 0, let data = reply.payload.data {
                    Array(UnsafeBufferPointer(start: data, count: reply.payload.len))
                } else { [] }
            return .reply(
                Reply(
                    callID: reply.call_id, status: try readStatus(reply.status), payload: payload,
                    endOfStream: reply.end_of_stream != 0))
        case SOS__RPC__V1__SERVER_FRAME__KIND_PONG:
            return .pong(opaque: frame.pong?.pointee.opaque ?? 0)
        case SOS__RPC__V1__SERVER_FRAME__KIND_GO_AWAY:
            guard let goAway = frame.go_away?.pointee else { throw WireError(.malformed, "go_away is missing") }
            return .goAway(GoAway(status: try readStatus(goAway.status), lastCallID: goAway.last_call_id))
        default:
            throw WireError(.malformed, "frame holds none of reply, pong, go_away")
        }
    }

    private static func readStatus(_ pointer: UnsafeMutablePointer<Sos__Rpc__V1__Status>?) throws(WireError) -> Status {
        guard let status = pointer?.pointee else { return .ok }
        let message = status.message.flatMap { String(validatingCString: $0) } ?? ""
        var details: [Detail] = []
        for index in 0..<status.n_details {
            guard let detail = status.details[index]?.pointee else { continue }
            let value: [UInt8] =
                if detail.value.len > 0, let data = detail.value.data {
                    Array(UnsafeBufferPointer(start: data, count: detail.value.len))
                } else { [] }
            details.append(Detail(type: detail.type.flatMap { String(validatingCString: $0) } ?? "", value: value))
        }
        return Status(StatusCode(rawValue: Int(status.code.rawValue)), message, details: details)
    }
}
