import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import SchedulerWire
import Synchronization

/// Load generator for `Scripts/bench`: drives a running server with Health calls over many
/// connections, keeping a fixed number of calls in flight on each (closed loop) or sending at a
/// fixed total rate (open loop), and prints one JSON line per measurement.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sosched-bench",
        abstract: "Benchmarks for Scripts/bench; each prints one JSON line.",
        subcommands: [
            LoadGenerator.self, BookingLoad.self, LedgerBench.self, MemoryBench.self, IntakeBench.self, IntakeServerBench.self, CounsellingBench.self,
            CounsellingServerBench.self, MentoringBench.self, MentoringServerBench.self, MentoringStoreBench.self,
        ],
        defaultSubcommand: LoadGenerator.self)
}

/// Prints one benchmark result as a JSON line.
func emit(_ line: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calls",
        abstract: "Measure read-call throughput and latency of a running sosched-server.",
        discussion: "Example:\n  sosched-bench calls --port 7433 --connections 16 --in-flight 8 --seconds 5")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port: Int
    @Option(help: "Connections.") var connections = 16
    @Option(help: "Calls in flight per connection (closed loop).") var inFlight = 8
    @Option(help: "Total calls per second (open loop); 0 for closed loop.") var rate: Double = 0
    @Option(help: "Seconds to measure, after a warm-up of one second.") var seconds: Double = 5
    @Option(help: "Client event loop threads.") var threads = 1
    @Option(help: "Benchmark name in the output.") var name = "health_calls"
    @Option(help: "Method: health (no token, answered on the event loop) or whoami (token checked in the store).")
    var method = "health"
    @Option(help: "Token for whoami.") var token = ""

    func validate() throws {
        guard ["health", "whoami"].contains(method) else { throw ValidationError("--method must be health or whoami") }
        guard connections >= 1, inFlight >= 1, seconds > 0 else { throw ValidationError("counts must be positive") }
    }

    /// One measurement; `Scripts/bench` repeats it and keeps the median.
    func run() async throws {
        let call =
            method == "health"
            ? CallTemplate(method: RPC.AdminService.health.path, payload: try WireCodec.encode(HealthRequest()), token: "")
            : CallTemplate(method: RPC.AdminService.whoAmI.path, payload: try WireCodec.encode(WhoAmIRequest()), token: token)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let recorder = Recorder()
        var channels: [any Channel] = []
        let perConnectionRate = rate / Double(connections)
        for _ in 0..<connections {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            LoadHandler(inFlight: inFlight, rate: perConnectionRate, call: call, recorder: recorder))
                    }
                }
                .connect(host: host, port: port).get()
            channels.append(channel)
        }
        try await Task.sleep(for: .seconds(1))
        recorder.start()
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        let result = recorder.stop()
        for channel in channels { try? await channel.close() }
        try await group.shutdownGracefully()

        let latencies = result.latenciesNs.sorted()
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        let value = (Double(result.completed) / result.elapsed).rounded()
        var line: [String: Any] = [
            "name": name, "value": value, "unit": "calls/s", "method": method,
            "connections": connections, "p50_us": percentile(0.5).rounded(), "p99_us": percentile(0.99).rounded(),
            "errors": result.errors, "seconds": seconds, "client_threads": threads,
        ]
        if rate > 0 { line["target_rate"] = rate } else { line["in_flight"] = inFlight }
        try emit(line)
    }
}

struct CallTemplate: Sendable {
    var method: String
    var payload: [UInt8]
    var token: String
}

/// Counts completions and samples latencies while measuring.
final class Recorder: Sendable {
    struct Result {
        var completed = 0
        var errors = 0
        var latenciesNs: [UInt64] = []
        var elapsed = 0.0
    }

    private struct State {
        var measuring = false
        var started = ContinuousClock.now
        var result = Result()
    }

    private let state = Mutex(State())

    func start() {
        state.withLock {
            $0.measuring = true
            $0.started = .now
        }
    }

    func stop() -> Result {
        state.withLock { state in
            state.measuring = false
            let elapsed = ContinuousClock.now - state.started
            state.result.elapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return state.result
        }
    }

    /// Adds one connection's batch of completions.
    func record(completed: Int, errors: Int, latencies: [UInt64]) {
        state.withLock { state in
            guard state.measuring else { return }
            state.result.completed += completed
            state.result.errors += errors
            state.result.latenciesNs += latencies
        }
    }
}

final class LoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let inFlight: Int
    private let rate: Double
    private let recorder: Recorder
    private var reader = FrameReader(maxFrameBytes: 1 << 20)
    private var nextID: UInt64 = 1
    private var sentAt: [UInt64: UInt64] = [:]
    private var completed = 0
    private var errors = 0
    private var latencies: [UInt64] = []
    private var pacer: RepeatedTask?
    private var owed = 0.0
    private let call: CallTemplate

    init(inFlight: Int, rate: Double, call: CallTemplate, recorder: Recorder) {
        self.inFlight = inFlight
        self.rate = rate
        self.call = call
        self.recorder = recorder
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 512)
        buffer.writeBytes(Preface.bytes)
        if rate > 0 {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            var last = DispatchTime.now().uptimeNanoseconds
            pacer = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) { _ in
                let (handler, context) = bound.value
                // Pay what the elapsed time owes, so timer jitter does not lower the rate.
                let now = DispatchTime.now().uptimeNanoseconds
                handler.owed += handler.rate * Double(now - last) / 1e9
                last = now
                var out = context.channel.allocator.buffer(capacity: 256)
                while handler.owed >= 1 {
                    handler.owed -= 1
                    handler.encodeCall(into: &out)
                }
                if out.readableBytes > 0 { context.writeAndFlush(handler.wrapOutboundOut(out), promise: nil) }
            }
        } else {
            for _ in 0..<inFlight { encodeCall(into: &buffer) }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pacer?.cancel()
    }

    private func encodeCall(into buffer: inout ByteBuffer) {
        let id = nextID
        nextID += 1
        sentAt[id] = DispatchTime.now().uptimeNanoseconds
        FrameCodec.encode(.call(Call(callID: id, method: call.method, payload: call.payload, authorization: call.token)), into: &buffer)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        reader.append(&bytes)
        var out = context.channel.allocator.buffer(capacity: 256)
        let now = DispatchTime.now().uptimeNanoseconds
        while let body = try? reader.next() {
            guard case .reply(let reply) = try? FrameCodec.decodeServerFrame(body, budget: 1 << 20) else { continue }
            if let sent = sentAt.removeValue(forKey: reply.callID) {
                // Sample one latency in eight: plenty for percentiles, cheap to keep.
                if reply.callID % 8 == 0 { latencies.append(now &- sent) }
            }
            if reply.status.isOK { completed += 1 } else { errors += 1 }
            if rate == 0 { encodeCall(into: &out) }
        }
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
        report()
    }

    private func report() {
        recorder.record(completed: completed, errors: errors, latencies: latencies)
        completed = 0
        errors = 0
        latencies.removeAll(keepingCapacity: true)
    }
}
