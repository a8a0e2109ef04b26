/// A Swift value that stands for one protobuf message of `proto/`. Conformers read and write
/// their fields by name through `ProtoReader` and `ProtoWriter`, which check each access against
/// the generated descriptor; protobuf-c does the encoding itself.
public protocol WireMessage: Sendable {
    /// The message's full name, e.g. `sos.scheduler.v1.HealthRequest`.
    static var protoName: String { get }
    init(reader: ProtoReader) throws(WireError)
    func write(to writer: inout ProtoWriter)
}

/// A protobuf enum that a Swift enum stands for.
public protocol ProtoEnum: Sendable {
    init?(protoValue: Int32)
    var protoValue: Int32 { get }
}
