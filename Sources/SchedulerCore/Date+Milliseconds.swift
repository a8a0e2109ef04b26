import Foundation

extension Date {
    /// The instant as stored and sent: whole milliseconds since 1970.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
