import Foundation

/// A self-signed certificate for localhost and 127.0.0.1, made by openssl, for TLS tests.
public enum TestCertificate {
    /// Writes the certificate and its key into `work`; returns their paths.
    public static func make(in work: URL) async throws -> (certificate: String, key: String) {
        let certificate = work.appendingPathComponent("server.pem").path, key = work.appendingPathComponent("server.key").path
        let made = try await runProcess(
            URL(fileURLWithPath: "/usr/bin/openssl"),
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
        guard made.status == 0 else { throw TestFailure("openssl could not make a certificate: \(made.stderr)") }
        return (certificate, key)
    }
}
