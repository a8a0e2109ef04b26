import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// `sos.scheduler.v1.MentoringService`: mentors (this file) and batches and mentor sessions
/// (`MentorBatches.swift`). Coordinators of a site (and admins) do all of it; nothing of another
/// site is visible.
struct MentoringService {
    let store: any Store

    /// Mentors an import holds at most.
    static let maxImportMentors = 10_000

    func register(in registry: inout HandlerRegistry) {
        registerMentors(in: &registry)
        MentorBatches(store: store).register(in: &registry)
    }

    private func registerMentors(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.mutating(RPC.MentoringService.createMentor) { (request: CreateMentorRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.mentor else { throw SchedulerError(.invalidArgument, "mentor is required", field: "mentor") }
            let mentor = try message.core()
            try access.checkSite(principal, mentor.siteID)
            return NurseryService.reply(try await store.createMentor(mentor, context: context.mutation()) { try WireCodec.encode(MentorMessage($0)) })
        }

        registry.async(RPC.MentoringService.getMentor) { (request: GetMentorRequest, context) in
            let principal = try context.requirePrincipal()
            let mentor = try await access.mentor(request.id, field: "id")
            try access.checkSite(principal, mentor.siteID)
            return MentorMessage(mentor)
        }

        registry.async(RPC.MentoringService.listMentors) { (request: ListMentorsRequest, context) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            try access.checkSite(principal, site)
            let field = request.field.isEmpty ? nil : try Field.mentorFields([request.field], "field").first
            let page = try await store.listMentors(
                siteID: site, field: field, after: NurseryService.cursor(request.pageToken), limit: try NurseryService.pageSize(request.pageSize))
            return ListMentorsResponse(mentors: page.items.map(MentorMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.MentoringService.updateMentor) { (request: UpdateMentorRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.mentor else { throw SchedulerError(.invalidArgument, "mentor is required", field: "mentor") }
            let mask = try Field.mask(
                request.updateMask, allowed: ["organisation", "name", "fields", "capacity", "availability", "away_dates", "session_minutes"])
            let existing = try await access.mentor(message.id, field: "mentor.id")
            try access.checkSite(principal, existing.siteID)
            // The message with the unmasked fields taken from the record, checked whole.
            var merged = MentorMessage(existing)
            if mask.contains("organisation") { merged.organisation = message.organisation }
            if mask.contains("name") { merged.name = message.name }
            if mask.contains("fields") { merged.fields = message.fields }
            if mask.contains("capacity") { merged.capacity = message.capacity }
            if mask.contains("availability") { merged.availability = message.availability }
            if mask.contains("away_dates") { merged.awayDates = message.awayDates }
            if mask.contains("session_minutes") { merged.sessionMinutes = message.sessionMinutes }
            let updated = try merged.core()
            return NurseryService.reply(
                try await store.updateMentor(id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(MentorMessage($0)) }) { mentor in
                    mentor = updated
                })
        }

        registry.mutating(RPC.MentoringService.importMentors) { (request: ImportMentorsRequest, context) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            try access.checkSite(principal, site)
            guard !request.mentors.isEmpty else { throw SchedulerError(.invalidArgument, "the import holds no mentor", field: "mentors") }
            guard request.mentors.count <= Self.maxImportMentors else {
                throw SchedulerError(.invalidArgument, "at most \(Self.maxImportMentors) mentors an import, not \(request.mentors.count)", field: "mentors")
            }
            var mentors: [Mentor] = []
            var seen: Set<String> = []
            for (index, message) in request.mentors.enumerated() {
                var message = message
                let prefix = "mentors[\(index)]"
                if message.siteID.isEmpty { message.siteID = site }
                guard message.siteID == site else { throw SchedulerError(.invalidArgument, "the import is for site \(site)", field: "\(prefix).site_id") }
                let mentor = try message.core(prefix)
                guard !mentor.id.isEmpty else { throw SchedulerError(.invalidArgument, "an imported mentor needs its id", field: "\(prefix).id") }
                guard seen.insert(mentor.id).inserted else {
                    throw SchedulerError(.invalidArgument, "id \(mentor.id) appears twice in the import", field: "\(prefix).id")
                }
                mentors.append(mentor)
            }
            return NurseryService.reply(
                try await store.importMentors(siteID: site, mentors: mentors, context: context.mutation()) { counts in
                    try WireCodec.encode(ImportMentorsResponse(created: UInt32(clamping: counts.created), replaced: UInt32(clamping: counts.replaced)))
                })
        }
    }
}

extension CounsellingAccess {
    func mentor(_ id: String, field: String) async throws -> Mentor {
        guard let mentor = try await store.mentor(id: try Field.id(id, field)) else {
            throw SchedulerError(.notFound, "no mentor with id \(id)", field: field)
        }
        return mentor
    }

    func mentorSession(_ id: String, field: String = "session_id") async throws -> StoredMentorSession {
        guard let session = try await store.mentorSession(id: try Field.id(id, field)) else {
            throw SchedulerError(.notFound, "no mentor session with id \(id)", field: field)
        }
        return session
    }
}
