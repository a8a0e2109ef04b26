import Crypto
import Foundation

/// Token secrets and ids: random from the system's CSPRNG, stored only as SHA-256.
public enum TokenSecret {
    /// A new secret: `sos_` and 43 base64url characters (256 random bits).
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "sos_" + base64URL(bytes)
    }

    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// SHA-256 of a request, for telling an idempotent retry from a different request.
    public static func digest(method: String, payload: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(method.utf8))
        hasher.update(data: [0])
        hasher.update(data: payload)
        return Array(hasher.finalize())
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
