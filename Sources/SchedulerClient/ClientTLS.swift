import NIOSSL
import SchedulerCore

/// TLS to a server's TCP listener. The server's certificate is always verified: against the
/// certificates in `trustRoots` (a PEM file: a private CA, or the server's own certificate),
/// or against the system's trusted roots when it is nil; and its name (or IP address) must
/// be the one connected to.
public struct ClientTLS: Sendable, Hashable {
    public var trustRoots: String?

    public init(trustRoots: String? = nil) {
        self.trustRoots = trustRoots
    }

    func context() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustRoots {
            do {
                let certificates = try NIOSSLCertificate.fromPEMFile(trustRoots)
                guard !certificates.isEmpty else { throw SchedulerError(.invalidArgument, "\(trustRoots) holds no certificate", field: "tls-ca") }
                configuration.trustRoots = .certificates(certificates)
            } catch let error as SchedulerError {
                throw error
            } catch {
                throw SchedulerError(.invalidArgument, "cannot read PEM certificates from \(trustRoots): \(error)", field: "tls-ca")
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
