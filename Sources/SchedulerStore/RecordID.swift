/// Server-made record ids: a prefix and 12 random base32 characters (`fam_4m2k9x7q1d3e`).
public enum RecordID {
    public static func make(_ prefix: String) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return prefix + "_" + String((0..<12).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}
