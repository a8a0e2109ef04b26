import NIOCore

/// Splits a byte stream into frames: a 4-byte big-endian length, then that many bytes. The
/// limit is checked the moment the prefix arrives, before any of the body is buffered.
public struct FrameReader: Sendable {
    public let maxFrameBytes: Int
    private var buffer: ByteBuffer

    public init(maxFrameBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
        self.buffer = ByteBufferAllocator().buffer(capacity: 0)
    }

    /// Adds bytes read from the socket.
    public mutating func append(_ bytes: inout ByteBuffer) {
        if buffer.readableBytes == 0 {
            swap(&buffer, &bytes)
        } else {
            buffer.writeBuffer(&bytes)
        }
    }

    /// Whether part of a frame (prefix or body) is buffered.
    public var hasPartialFrame: Bool { buffer.readableBytes > 0 }

    /// The next complete frame body, or `nil` if more bytes are needed.
    /// Throws `frameTooLarge` or `emptyFrame`: the stream cannot be trusted after either.
    public mutating func next() throws(WireError) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        if length == 0 {
            throw WireError(.emptyFrame, "frame length is 0; a frame holds at least one byte")
        }
        if Int(length) > maxFrameBytes {
            throw WireError(.frameTooLarge, "frame of \(length) bytes is over the limit of \(maxFrameBytes) bytes (max-frame-bytes)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let body = buffer.readSlice(length: Int(length))
        if buffer.readableBytes == 0 { buffer.clear() } else if buffer.readerIndex > 65536 { buffer.discardReadBytes() }
        return body
    }

    /// Takes up to `count` leading bytes (for the preface), or `nil` if fewer are buffered.
    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        buffer.readBytes(length: count)
    }

    /// The bytes buffered so far, for checking a preface as it arrives.
    public var bufferedPrefix: ByteBufferView { buffer.readableBytesView }
}
