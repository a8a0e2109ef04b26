import Foundation
import SchedulerTesting
import Testing

/// TLS on the TCP listeners, through the real binaries, with a certificate made by openssl.
@Suite(.timeLimit(.minutes(2)))
struct TLSTests {
    @Test func tcpListenersSpeakTLSAndUnixSocketsStayPlain() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let (certificate, key) = try await TestCertificate.make(in: work)
        let data = work.appendingPathComponent("var")
        let token = try await SpawnedServer.adminToken(data: data)
        let socket = work.appendingPathComponent("s.sock").path
        let server = try await SpawnedServer.start(
            directory: data, arguments: ["--listen", "127.0.0.1:0", "--unix", socket, "--tls-cert", certificate, "--tls-key", key])
        let sosched = try Binaries.url("sosched")
        let environment = ["SOSCHED_TOKEN": token]

        // Verified against the server's own certificate, by IP address and by name.
        let byAddress = try await runProcess(sosched, ["whoami", "--server", server.address, "--tls-ca", certificate, "--json"], environment: environment)
        #expect(byAddress.status == 0, "\(byAddress.stderr)")
        #expect(byAddress.stdout.contains("\"admin\""))
        let byName = try await runProcess(sosched, ["health", "--server", "localhost:\(server.port)", "--json"], environment: ["SOSCHED_TLS_CA": certificate])
        #expect(byName.status == 0, "\(byName.stderr)")

        // A client without TLS, or one that does not trust the certificate, gets nothing through.
        let plain = try await runProcess(sosched, ["health", "--server", server.address, "--timeout", "3"], environment: environment)
        #expect(plain.status != 0)
        #expect(plain.stderr.contains("--tls"), "\(plain.stderr)")
        let untrusted = try await runProcess(sosched, ["whoami", "--server", server.address, "--tls", "--timeout", "3"], environment: environment)
        #expect(untrusted.status != 0)
        #expect(!untrusted.stdout.contains("admin"))
        #expect(untrusted.stderr.contains("TLS with the server failed"), "\(untrusted.stderr)")

        // The preface in clear text is not answered with a frame: the server waits for a TLS hello.
        let raw = try await RawConnection.connect(port: server.port)
        await #expect(throws: (any Error).self) { _ = try await raw.nextFrame(timeout: .seconds(2)) }
        await raw.close()

        // The Unix socket (mode 600) stays plain.
        let local = try await runProcess(sosched, ["whoami", "--server", "unix:\(socket)", "--json"], environment: environment)
        #expect(local.status == 0, "\(local.stderr)")
        #expect(try await server.stop() == 0)
    }

    @Test func tlsOptionsAreChecked() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let (certificate, _) = try await TestCertificate.make(in: work)
        let binary = try Binaries.url("sosched-server")
        let data = work.appendingPathComponent("var").path
        let half = try await runProcess(binary, ["serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", certificate])
        #expect(half.status != 0)
        #expect(half.stderr.contains("--tls-key"))
        let missing = work.appendingPathComponent("missing.key").path
        let unreadable = try await runProcess(binary, ["serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", certificate, "--tls-key", missing])
        #expect(unreadable.status != 0)
        #expect(unreadable.stderr.contains("--tls-key") && unreadable.stderr.contains(missing), "\(unreadable.stderr)")
        let badCA = try await runProcess(try Binaries.url("sosched"), ["health", "--tls-ca", missing])
        #expect(badCA.status != 0)
        #expect(badCA.stderr.contains(missing), "\(badCA.stderr)")
    }
}
