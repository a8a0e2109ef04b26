import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire
import Synchronization

/// Mentor batches and mentor sessions. A batch reads a snapshot of the site, decides in the core
/// (`MentorBatchPlanner`), streams what it decided, and only then saves all of it in one
/// transaction with the snapshot's version: a caller that goes away before the result, a site
/// that changed meanwhile, or a store failure leaves nothing saved.
struct MentorBatches {
    let store: any Store

    /// Items a batch holds at most.
    static let maxItems = MentorBatch.maxItems
    /// Parts of the answer (assignments, sessions, refusals) a message carries at most.
    static let partSize = 1000

    func register(in registry: inout HandlerRegistry) {
        registerBatchAssign(in: &registry)
        registerSessions(in: &registry)
    }

    // MARK: BatchAssign

    /// A batch's items as checked, with the field names of the request.
    private struct CheckedItem {
        var item: MentorBatchItem
        var index: Int
    }

    private static func checkItems(_ request: BatchAssignRequest, site: String) throws(SchedulerError) -> [CheckedItem] {
        guard !request.items.isEmpty else { throw SchedulerError(.invalidArgument, "the batch holds no item", field: "items") }
        guard request.items.count <= maxItems else {
            throw SchedulerError(.invalidArgument, "a batch holds at most \(maxItems) items, not \(request.items.count)", field: "items")
        }
        var seen: [String: Int] = [:]
        var checked: [CheckedItem] = []
        for (index, message) in request.items.enumerated() {
            let prefix = "items[\(index)]"
            let person = try Field.id(message.youngPersonID, "\(prefix).young_person_id")
            if let first = seen[person] {
                throw SchedulerError(
                    .invalidArgument, "young person \(person) is in the batch twice (items[\(first)] and \(prefix))", field: "\(prefix).young_person_id")
            }
            seen[person] = index
            let fields = try Field.mentorFields(message.fields, "\(prefix).fields")
            guard (1...53).contains(message.sessions) else {
                throw SchedulerError(.invalidArgument, "sessions must be 1 to 53 (one a week at most)", field: "\(prefix).sessions")
            }
            let from = try Field.date(message.from, "\(prefix).from")
            let to = try Field.date(message.to, "\(prefix).to")
            guard to >= from else { throw SchedulerError(.invalidArgument, "to \(to) is before from \(from)", field: "\(prefix).to") }
            guard to.dayNumber - from.dayNumber < 366 else { throw SchedulerError(.invalidArgument, "at most 366 days", field: "\(prefix).to") }
            checked.append(
                CheckedItem(
                    item: MentorBatchItem(youngPersonID: person, siteID: site, fields: fields, sessions: Int(message.sessions), from: from, to: to),
                    index: index))
        }
        return checked
    }

    /// The batch's input in one canonical form (items by young person, fields sorted), digested:
    /// the same batch in another line order is the same input.
    private static func inputDigest(site: String, _ items: [CheckedItem]) throws -> [UInt8] {
        let canonical = BatchAssignRequest(
            siteID: site,
            items: items.map(\.item).sorted { $0.youngPersonID < $1.youngPersonID }.map { item in
                BatchItemMessage(
                    youngPersonID: item.youngPersonID, fields: item.fields.sorted(), sessions: UInt32(item.sessions), from: item.from.description,
                    to: item.to.description)
            })
        return TokenSecret.digest(method: "mentor-batch-input", payload: try WireCodec.encode(canonical))
    }

    private func registerBatchAssign(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.serverStreaming(RPC.MentoringService.batchAssign) { (request: BatchAssignRequest, context, writer) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            let batchID = request.batchID.isEmpty ? nil : try Field.batchID(request.batchID, "batch_id")
            if !request.dryRun, batchID == nil {
                throw SchedulerError(.invalidArgument, "batch_id is required to save a batch (it makes sending it again safe)", field: "batch_id")
            }
            let checked = try Self.checkItems(request, site: site)
            try access.checkSite(principal, site)
            let digest = try Self.inputDigest(site: site, checked)

            // A batch id already saved: the same input answers the stored batch, other input is refused.
            if let batchID, let stored = try await store.mentorBatch(id: batchID) {
                guard stored.siteID == site, stored.inputDigest == digest else {
                    // Not which site's, nor what it held: only that the id is taken.
                    throw SchedulerError(
                        .alreadyExists, "batch id \(batchID) is taken by a batch with other input; give the new batch another batch_id", field: "batch_id")
                }
                return try await Self.replay(stored, store: store, writer)
            }
            // An idempotency key used for another request is refused before planning (a key used
            // for this one saved its batch with it, answered just above).
            if !request.dryRun { _ = try await store.storedReply(for: context.mutation()) }

            let clock = ContinuousClock()
            let started = clock.now
            let from = checked.map(\.item.from).min() ?? CivilDate(dayNumber: 0)
            let to = checked.map(\.item.to).max() ?? CivilDate(dayNumber: 0)
            guard let snapshot = try await store.mentoringSnapshot(siteID: site, from: from, to: to) else {
                throw SchedulerError(.notFound, "no site with id \(site)", field: "site_id")
            }
            let today = CounsellingPlanning.today(context, snapshot.site)
            let batch = try Self.batch(batchID, checked, snapshot, today: today)
            let items = UInt32(clamping: batch.items.count)
            try await writer.send(
                BatchAssignResponse(progress: BatchProgressMessage(items: items, elapsedMs: UInt32(clamping: (clock.now - started).milliseconds))))

            let matched = MatchClock()
            let plan = try await BackgroundWork.run(
                progressEvery: CounsellingPlanning.progressInterval,
                { isStopped, progress in
                    MentorBatchPlanner.plan(batch, isCancelled: isStopped) { step in
                        if step.pairsPlaced == 0 { matched.mark() }
                        progress(step)
                    }
                },
                progress: { step in
                    try await writer.send(
                        BatchAssignResponse(
                            progress: BatchProgressMessage(
                                items: items, itemsMatched: UInt32(clamping: step.pairs), pairsPlaced: UInt32(clamping: step.pairsPlaced),
                                pairs: UInt32(clamping: step.pairs), sessionsPlaced: UInt32(clamping: step.sessionsPlaced),
                                elapsedMs: UInt32(clamping: (clock.now - started).milliseconds))))
                })

            // A dry run's sessions have no id: they are not stored, and nothing can refer to them.
            let sessions = plan.sessions.map { planned in
                var session = planned
                session.id = request.dryRun ? "" : RecordID.make("mses")
                return StoredMentorSession(session: session, siteID: site)
            }
            let assignments = plan.assignments.map(MentorAssignmentMessage.init)
            let refusals = plan.refusals.map(MentorRefusalMessage.init)
            var result = BatchAssignResultMessage(
                batchID: batchID ?? "", siteID: site, saved: false, replayed: false, items: items, itemsMatched: UInt32(clamping: plan.assignments.count),
                totalFit: UInt32(clamping: plan.totalFit), keptPairs: UInt32(clamping: plan.keptPairs),
                sessionsRequested: UInt32(clamping: batch.items.reduce(0) { $0 + $1.sessions }), sessionsPlaced: UInt32(clamping: sessions.count),
                sessionsRefused: UInt32(clamping: plan.refusals.reduce(0) { $0 + $1.sessions }), elapsedMs: 0,
                matchMs: UInt32(clamping: ((matched.instant ?? clock.now) - started).milliseconds))
            // The plan goes out first: saving is the last step, so a caller that leaves before
            // the result leaves nothing saved.
            try await Self.sendParts(assignments, sessions.map(MentorSessionMessage.init), refusals, writer)
            result.elapsedMs = UInt32(clamping: (clock.now - started).milliseconds)
            guard !request.dryRun, let batchID else {
                try await writer.send(BatchAssignResponse(result: result))
                return
            }
            result.saved = true
            let final = result
            let record = StoredMentorBatch(
                id: batchID, siteID: site, inputDigest: digest,
                answer: try WireCodec.encode(StoredBatchMessage(assignments: assignments, refusals: refusals, result: final)), createdAt: context.now())
            let outcome = try await store.saveMentorBatch(
                record, sessions: sessions, expectedVersion: snapshot.version, context: context.mutation()
            ) { _ in try WireCodec.encode(BatchAssignResponse(result: final)) }
            guard case .applied(_, let reply) = outcome else {
                // Another call with this idempotency key saved its own plan meanwhile: what was
                // sent above is not what is stored.
                throw SchedulerError(.aborted, "a call with the same idempotency key saved batch \(batchID) meanwhile; send it again to read it")
            }
            try await writer.sink.send(reply)
        }
    }

    /// Everything the planner reads: the items (from today on), the site's mentors, the pairs
    /// so far, the young people's availability and everyone's sessions in the range.
    private static func batch(_ id: String?, _ checked: [CheckedItem], _ snapshot: MentoringSnapshot, today: CivilDate) throws -> MentorBatch {
        let people = Dictionary(snapshot.youngPeople.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        // Every unknown young person at once (the field names the first), so a script fixes its
        // file in one go.
        let unknown = checked.filter { people[$0.item.youngPersonID] == nil }
        if let first = unknown.first {
            let listed = unknown.prefix(20).map { "\($0.item.youngPersonID) (items[\($0.index)])" }.joined(separator: ", ")
            let more = unknown.count > 20 ? " and \(unknown.count - 20) more" : ""
            throw SchedulerError(
                .notFound, "no young person at site \(snapshot.site.id) with id \(listed)\(more)", field: "items[\(first.index)].young_person_id")
        }
        var items: [MentorBatchItem] = []
        for checked in checked {
            var item = checked.item
            guard item.to >= today else {
                throw SchedulerError(
                    .invalidArgument, "to \(item.to) is before today (\(today)) at the site", field: "items[\(checked.index)].to")
            }
            item.from = max(item.from, today)
            items.append(item)
        }
        let inBatch = Set(items.map(\.youngPersonID))
        // A young person's current mentor: the one of their latest session (ties: the smaller id).
        var current: [String: MentorPair] = [:]
        var mentees: [String: Set<String>] = [:]
        for pair in snapshot.pairs {
            let replaces = current[pair.youngPersonID].map { known in
                pair.lastDate > known.lastDate || (pair.lastDate == known.lastDate && pair.mentorID < known.mentorID)
            }
            if replaces ?? true { current[pair.youngPersonID] = pair }
            if pair.lastDate >= today, !inBatch.contains(pair.youngPersonID) { mentees[pair.mentorID, default: []].insert(pair.youngPersonID) }
        }
        let busy = snapshot.counsellingSessions.filter { inBatch.contains($0.youngPersonID) }.map(BusyInterval.init(youngPersonOf:))
        let mentorSessions = snapshot.mentorSessions.map(\.session)
        let theirs = mentorSessions.filter { inBatch.contains($0.youngPersonID) }
        return MentorBatch(
            id: id, items: items, mentors: snapshot.mentors, currentMentor: current.mapValues(\.mentorID), activeMentees: mentees.mapValues(\.count),
            youngPersonAvailability: Dictionary(
                snapshot.youngPeople.filter { inBatch.contains($0.id) }.map { ($0.id, $0.availability) }, uniquingKeysWith: { first, _ in first }),
            youngPersonBusy: busy + theirs.map(BusyInterval.init(youngPersonOf:)),
            mentorBusy: mentorSessions.map(BusyInterval.init(mentorOf:)),
            pairSessions: theirs)
    }

    private static func sendParts(
        _ assignments: [MentorAssignmentMessage], _ sessions: [MentorSessionMessage], _ refusals: [MentorRefusalMessage],
        _ writer: ResponseWriter<BatchAssignResponse>
    ) async throws {
        func send<Part>(_ parts: [Part], _ message: ([Part]) -> BatchAssignResponse) async throws {
            for start in stride(from: 0, to: parts.count, by: partSize) {
                try await writer.send(message(Array(parts[start..<min(parts.count, start + partSize)])))
            }
        }
        try await send(assignments) { BatchAssignResponse(assignments: $0) }
        try await send(sessions) { BatchAssignResponse(sessions: $0) }
        try await send(refusals) { BatchAssignResponse(refusals: $0) }
    }

    /// A saved batch answered again: its assignments and refusals as stored, its sessions as
    /// they are now (a cancelled one says so), and its result marked replayed.
    private static func replay(_ stored: StoredMentorBatch, store: any Store, _ writer: ResponseWriter<BatchAssignResponse>) async throws {
        let answer = try WireCodec.decode(StoredBatchMessage.self, from: stored.answer)
        let sessions = try await allSessions(store, MentorSessionFilter(siteID: stored.siteID, batchID: stored.id, includeCancelled: true))
        let ordered = sessions.sorted { ($0.session.youngPersonID, $0.session.date, $0.id) < ($1.session.youngPersonID, $1.session.date, $1.id) }
        try await sendParts(answer.assignments, ordered.map(MentorSessionMessage.init), answer.refusals, writer)
        var result = answer.result ?? BatchAssignResultMessage(batchID: stored.id, siteID: stored.siteID)
        result.saved = true
        result.replayed = true
        try await writer.send(BatchAssignResponse(result: result))
    }

    static func allSessions(_ store: any Store, _ filter: MentorSessionFilter) async throws -> [StoredMentorSession] {
        var sessions: [StoredMentorSession] = []
        var after: String?
        repeat {
            let page = try await store.mentorSessions(filter, after: after, limit: 1000)
            sessions += page.items
            after = page.next
        } while after != nil
        return sessions
    }

    // MARK: Sessions

    private func registerSessions(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.async(RPC.MentoringService.listMentorSessions) { (request: ListMentorSessionsRequest, context) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            let filter = MentorSessionFilter(
                siteID: site, mentorID: request.mentorID.isEmpty ? nil : try Field.id(request.mentorID, "mentor_id"),
                youngPersonID: request.youngPersonID.isEmpty ? nil : try Field.id(request.youngPersonID, "young_person_id"),
                batchID: request.batchID.isEmpty ? nil : try Field.batchID(request.batchID, "batch_id"), from: try Field.optionalDate(request.from, "from"),
                to: try Field.optionalDate(request.to, "to"), includeCancelled: request.includeCancelled)
            if let from = filter.from, let to = filter.to, to < from { throw SchedulerError(.invalidArgument, "to is before from", field: "to") }
            try access.checkSite(principal, site)
            let page = try await store.mentorSessions(
                filter, after: NurseryService.cursor(request.pageToken), limit: try NurseryService.pageSize(request.pageSize))
            return ListMentorSessionsResponse(sessions: page.items.map(MentorSessionMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.MentoringService.cancelMentorSession) { (request: CancelMentorSessionRequest, context) in
            let principal = try context.requirePrincipal()
            let current = try await access.mentorSession(request.sessionID)
            try access.checkSite(principal, current.siteID)
            guard current.status == .scheduled else { return try WireCodec.encode(MentorSessionMessage(current)) }
            if let site = try await store.site(id: current.siteID) {
                let today = CounsellingPlanning.today(context, site)
                guard current.session.date >= today else {
                    throw SchedulerError(
                        .failedPrecondition, "session \(current.id) was on \(current.session.date), before today (\(today)); it stays", field: "session_id")
                }
            }
            var cancelled = current
            cancelled.status = .cancelled
            cancelled.sequence += 1
            let decided = cancelled
            return NurseryService.reply(
                try await store.writeMentorSessions(siteID: current.siteID, [decided], records: [], context: context.mutation()) { _ in
                    try WireCodec.encode(MentorSessionMessage(decided))
                })
        }

        registry.mutating(RPC.MentoringService.cancelBatch) { (request: CancelBatchRequest, context) in
            let principal = try context.requirePrincipal()
            let id = try Field.batchID(request.batchID, "batch_id")
            guard let batch = try await store.mentorBatch(id: id) else { throw SchedulerError(.notFound, "no batch with id \(id)", field: "batch_id") }
            try access.checkSite(principal, batch.siteID)
            guard let site = try await store.site(id: batch.siteID) else { throw SchedulerError(.notFound, "no batch with id \(id)", field: "batch_id") }
            let today = CounsellingPlanning.today(context, site)
            let sessions = try await Self.allSessions(store, MentorSessionFilter(siteID: batch.siteID, batchID: id))
            let future = sessions.filter { $0.session.date >= today }.map { session in
                var cancelled = session
                cancelled.status = .cancelled
                cancelled.sequence += 1
                return cancelled
            }
            let response = CancelBatchResponse(cancelled: future.map(MentorSessionMessage.init), past: UInt32(clamping: sessions.count - future.count))
            if future.isEmpty { return try WireCodec.encode(response) }
            return NurseryService.reply(
                try await store.writeMentorSessions(siteID: batch.siteID, future, records: ["batch:\(id)"], context: context.mutation()) { _ in
                    try WireCodec.encode(response)
                })
        }
    }
}

/// When the matching ended, set from the planner's thread.
private final class MatchClock: Sendable {
    private let state = Mutex<ContinuousClock.Instant?>(nil)
    var instant: ContinuousClock.Instant? { state.withLock { $0 } }
    func mark() { state.withLock { if $0 == nil { $0 = ContinuousClock.now } } }
}
