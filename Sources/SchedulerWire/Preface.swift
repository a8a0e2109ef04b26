/// The 8 bytes a client sends first: ASCII `SOSRPC`, a zero byte, and the protocol version.
public enum Preface {
    public static let version: UInt8 = 1
    public static let bytes: [UInt8] = Array("SOSRPC".utf8) + [0, version]
    public static let count = 8
    /// Human-readable form for error messages.
    public static let text = "\"SOSRPC\\0\\x01\""
}
