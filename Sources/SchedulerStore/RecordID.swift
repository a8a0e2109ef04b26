/// Server-made record ids: a prefix and 12 random base32 characters (`fam_4m2k9x7q1d3e`).
public enum RecordID {
    /// 32 characters: each takes 5 bits, so one 64-bit draw makes all 12 (60 random bits).
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)

    /// One draw from the system's generator per id, not one per character: a batch makes
    /// 20,000 ids, and each draw is a system call.
    public static func make(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var bits = generator.next()
        var characters: [UInt8] = []
        characters.reserveCapacity(12)
        for _ in 0..<12 {
            characters.append(alphabet[Int(bits & 31)])
            bits >>= 5
        }
        return prefix + "_" + String(decoding: characters, as: UTF8.self)
    }
}
