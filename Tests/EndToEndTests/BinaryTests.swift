import Foundation
import SchedulerCore
import SchedulerTesting
import SchedulerWire
import Testing

/// The `sosched-server` and `sosched` binaries, spawned as a user would run them.
@Suite(.timeLimit(.minutes(3)))
struct BinaryTests {
    func sosched(_ arguments: [String], in directory: URL? = nil, env: [String: String] = [:]) async throws -> ProcessResult {
        try await runProcess(try Binaries.url("sosched"), arguments, environment: env, directory: directory)
    }

    func server(_ arguments: [String]) async throws -> ProcessResult {
        try await runProcess(try Binaries.url("sosched-server"), arguments)
    }

    /// Makes an admin token with `sosched-server token create`, kept where the CLI looks by itself.
    func makeAdminToken(in work: URL) async throws -> String {
        let data = work.appendingPathComponent("var")
        let made = try await server(["token", "create", "--data", data.path, "--role", "admin", "--name", "e2e"])
        #expect(made.status == 0, "\(made.stderr)")
        let token = try #require(made.stdout.split(separator: "\n").last.map(String.init))
        #expect(token.hasPrefix("sos_") && token.count == 47)
        try (token + "\n").write(to: data.appendingPathComponent("admin.token"), atomically: true, encoding: .utf8)
        return token
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func aNewcomersSessionWorksEndToEnd() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let adminToken = try await makeAdminToken(in: work)
        let running = try await SpawnedServer.start(directory: work.appendingPathComponent("var"))
        let env = ["SOSCHED_SERVER": running.address]

        let health = try await sosched(["health"], in: work, env: env)
        #expect(health.status == 0)
        #expect(health.stdout.contains("is up"))
        #expect(health.stdout.contains("store: sqlite"))
        let healthJSON = try json(try await sosched(["health", "--json"], in: work, env: env).stdout)
        #expect(healthJSON["store"] as? String == "sqlite")
        #expect(healthJSON["version"] as? String == "0.1.0")

        // No token given: the CLI finds ./var/admin.token by itself.
        let whoami = try json(try await sosched(["whoami", "--json"], in: work, env: env).stdout)
        #expect(whoami["role"] as? String == "admin")
        #expect((try await sosched(["whoami"], in: work, env: env)).stdout.contains("role admin"))

        // A scope must name a site that exists.
        let early = try await sosched(["token", "create", "--role", "manager", "--scope", "site:almaty"], in: work, env: env)
        #expect(early.status != 0)
        #expect(early.stderr.contains("scope names site almaty, which does not exist"), "\(early.stderr)")
        #expect(try await sosched(["site", "create", "--id", "almaty", "--name", "Almaty"], in: work, env: env).status == 0)
        let created = try await sosched(
            ["token", "create", "--role", "manager", "--scope", "site:almaty", "--name", "Almaty office", "--json"], in: work, env: env)
        #expect(created.status == 0, "\(created.stderr)")
        let createdJSON = try json(created.stdout)
        let secret = try #require(createdJSON["secret"] as? String)
        let managerID = try #require((createdJSON["token"] as? [String: Any])?["id"] as? String)

        // The manager's token, from the environment; then from a file.
        let asManager = try json(try await sosched(["whoami", "--json"], env: env.merging(["SOSCHED_TOKEN": secret]) { $1 }).stdout)
        #expect(asManager["scope"] as? String == "site:almaty")
        let tokenFile = work.appendingPathComponent("manager.token")
        try secret.write(to: tokenFile, atomically: true, encoding: .utf8)
        let denied = try await sosched(["token", "list", "--token-file", tokenFile.path], env: env)
        #expect(denied.status != 0)
        #expect(denied.stderr.contains("PERMISSION_DENIED"))

        let list = try await sosched(["token", "list"], in: work, env: env)
        #expect(list.stdout.contains("Almaty office"))
        #expect(list.stdout.hasPrefix("ID "))
        let listJSON = try #require(
            try JSONSerialization.jsonObject(with: Data(try await sosched(["token", "list", "--json"], in: work, env: env).stdout.utf8)) as? [[String: Any]])
        #expect(listJSON.count == 2)

        let revoke = try await sosched(["token", "revoke", managerID], in: work, env: env)
        #expect(revoke.status == 0)
        #expect(revoke.stdout.contains("revoked"))
        let afterRevoke = try await sosched(["whoami", "--token-file", tokenFile.path], env: env)
        #expect(afterRevoke.status != 0)
        #expect(afterRevoke.stderr.contains("UNAUTHENTICATED"))
        #expect(afterRevoke.stdout.isEmpty)

        let refused = try await sosched(["token", "create", "--role", "manager"], in: work, env: env)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("INVALID_ARGUMENT"))
        #expect(refused.stderr.contains("scope"))
        _ = adminToken

        #expect(try await running.stop() == 0)
        #expect(running.log.finish().contains("sosched-server stopped"))
    }

    @Test func badCommandLinesSayWhatIsWrong() async throws {
        let role = try await sosched(["token", "create", "--role", "wizard"])
        #expect(role.status != 0)
        #expect(role.stderr.contains("--role must be"))
        let address = try await sosched(["health", "--server", "nowhere"])
        #expect(address.status != 0)
        #expect(address.stderr.contains("HOST:PORT"))
        let down = try await sosched(["health", "--server", "127.0.0.1:1", "--timeout", "2"])
        #expect(down.status != 0)
        #expect(down.stderr.contains("UNAVAILABLE"))
        let serve = try await server(["serve", "--listen", "localhost"])
        #expect(serve.status != 0)
        #expect(serve.stderr.contains("--listen"))
        // Timeouts that cannot be timers are refused at start, naming the flag.
        for value in ["inf", "-1", "0", "nan", "1e300"] {
            let refused = try await server(["serve", "--listen", "127.0.0.1:0", "--idle-timeout", value])
            #expect(refused.status != 0, "--idle-timeout \(value) was accepted")
            #expect(refused.stderr.contains("--idle-timeout"), "\(refused.stderr)")
        }
    }

    @Test(arguments: [
        ["sosched", "--help"], ["sosched", "health", "--help"], ["sosched", "whoami", "--help"],
        ["sosched", "token", "create", "--help"], ["sosched", "token", "list", "--help"], ["sosched", "token", "revoke", "--help"],
        ["sosched-server", "--help"], ["sosched-server", "serve", "--help"], ["sosched-server", "migrate", "--help"],
        ["sosched-server", "token", "create", "--help"], ["sosched-server", "export", "--help"], ["sosched-server", "import", "--help"],
        ["sosched", "intake", "--help"], ["sosched", "intake", "create", "--help"], ["sosched", "intake", "import", "--help"],
        ["sosched", "intake", "run", "--help"], ["sosched", "intake", "explain", "--help"], ["sosched", "intake", "respond", "--help"],
    ])
    func everyCommandsHelpHasAnExample(_ command: [String]) async throws {
        let result = try await runProcess(try Binaries.url(command[0]), Array(command.dropFirst()))
        #expect(result.status == 0)
        #expect(result.stdout.contains("Example"), "\(command.joined(separator: " ")) --help has no example")
    }

    @Test func migrateAndAUnixSocket() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("var")
        let migrate = try await server(["migrate", "--data", data.path])
        #expect(migrate.status == 0)
        #expect(migrate.stdout.contains("v1-access"))
        let socket = work.appendingPathComponent("s.sock").path
        let running = try await SpawnedServer.start(directory: data, arguments: ["--listen", "none", "--unix", socket])
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let health = try await sosched(["health", "--server", "unix:\(socket)", "--json"])
        #expect(health.status == 0, "\(health.stderr)")
        #expect(try json(health.stdout)["store"] as? String == "sqlite")
        #expect(try await running.stop(signal: SIGINT) == 0)
    }

    @Test func sigtermDrainsCallsInFlightAndSendsGoAway() async throws {
        let work = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: work) }
        let token = try await makeAdminToken(in: work)
        let data = work.appendingPathComponent("var")
        let running = try await SpawnedServer.start(directory: data)
        let connection = try await RawConnection.connect(port: running.port)
        let lock = try WriteLock(directory: data)
        let payload = try WireCodec.encode(CreateTokenRequest(role: .admin, name: "during shutdown"))
        try await connection.send(.call(Call(callID: 1, method: RPC.AdminService.createToken.path, payload: payload, authorization: token)))
        // Frames are handled in order: the Pong proves the call has started.
        try await connection.send(.ping(opaque: 1))
        #expect(try await connection.nextFrame() == .pong(opaque: 1))
        kill(running.process.processIdentifier, SIGTERM)
        let goAway = try await connection.nextFrame()
        guard case .goAway(let away) = goAway else {
            Issue.record("expected GoAway, got \(goAway)")
            return
        }
        #expect(away.status.code == .unavailable)
        #expect(away.lastCallID == 1)
        try lock.release()
        let reply = try await connection.nextReply()
        #expect(reply.callID == 1)
        #expect(reply.status.isOK)
        #expect(try await running.stop() == 0)
        // The change that was acknowledged is on disk.
        let again = try await SpawnedServer.start(directory: data)
        let list = try await sosched(["token", "list", "--json"], in: work, env: ["SOSCHED_SERVER": again.address])
        #expect(list.stdout.contains("during shutdown"))
        #expect(try await again.stop() == 0)
    }
}
