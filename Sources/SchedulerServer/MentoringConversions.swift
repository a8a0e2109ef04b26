import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

// Wire messages <-> core values for the mentoring service. Every check names the request
// field, with its index in a list ("items[3].fields[0]").

extension Field {
    /// Fields of interest or of a mentor: 1 to `MentorBatch.maxFields` words, lower-cased.
    static func mentorFields(_ names: [String], _ field: String) throws(SchedulerError) -> Set<String> {
        guard !names.isEmpty else { throw SchedulerError(.invalidArgument, "at least one field, such as it or cooking", field: field) }
        guard names.count <= MentorBatch.maxFields else {
            throw SchedulerError(.invalidArgument, "at most \(MentorBatch.maxFields) fields", field: field)
        }
        var result: Set<String> = []
        for (index, name) in names.enumerated() {
            let word = name.lowercased()
            guard word.utf8.count <= 32, Scope.isValidID(word) else {
                throw SchedulerError(
                    .invalidArgument, "a field is 1-32 letters, digits, '-' or '_', not '\(name.prefix(40))'", field: "\(field)[\(index)]")
            }
            result.insert(word)
        }
        return result
    }

    /// A batch id: 1-64 letters, digits, '-', '_' or '.' (a script may use a file name).
    static func batchID(_ text: String, _ field: String) throws(SchedulerError) -> String {
        let allowed = text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
        guard (1...64).contains(text.utf8.count), allowed else {
            throw SchedulerError(.invalidArgument, "\(field) must be 1-64 letters, digits, '-', '_' or '.'", field: field)
        }
        return text
    }
}

extension MentorMessage {
    init(_ mentor: Mentor) {
        self.init(
            id: mentor.id, siteID: mentor.siteID, organisation: mentor.organisation, name: mentor.name, fields: mentor.fields.sorted(),
            capacity: UInt32(clamping: mentor.capacity), availability: mentor.availability.windows.map(\.description),
            awayDates: mentor.availability.awayDates.sorted().map(\.description), sessionMinutes: UInt32(clamping: mentor.sessionMinutes))
    }

    func core(_ prefix: String = "mentor") throws(SchedulerError) -> Mentor {
        guard capacity <= MentorBatch.maxCapacity else {
            throw SchedulerError(.invalidArgument, "capacity is at most \(MentorBatch.maxCapacity)", field: "\(prefix).capacity")
        }
        let minutes = sessionMinutes == 0 ? 60 : Int(sessionMinutes)
        guard (15...240).contains(minutes), minutes % TimeGrid.minutes == 0 else {
            throw SchedulerError(.invalidArgument, "session_minutes must be 15 to 240, on the 15-minute grid", field: "\(prefix).session_minutes")
        }
        return Mentor(
            id: try Field.optionalID(id, "\(prefix).id"), siteID: try Field.id(siteID, "\(prefix).site_id"),
            organisation: try Field.name(organisation, "\(prefix).organisation", required: false), name: try Field.name(name, "\(prefix).name"),
            fields: try Field.mentorFields(fields, "\(prefix).fields"), capacity: Int(capacity),
            availability: try Field.availability(availability, awayDates: awayDates, prefix), sessionMinutes: minutes)
    }
}

extension MentorSessionMessage {
    init(_ stored: StoredMentorSession) {
        let session = stored.session
        self.init(
            id: session.id, siteID: stored.siteID, mentorID: session.mentorID, youngPersonID: session.youngPersonID, date: session.date.description,
            start: TimeGrid.text(session.start), minutes: UInt32(clamping: session.minutes), batchID: session.batchID ?? "",
            status: stored.status == .scheduled ? .mentorSessionScheduled : .mentorSessionCancelled, sequence: UInt32(clamping: stored.sequence))
    }
}

extension MentorAssignmentMessage {
    init(_ assignment: MentorAssignment) {
        self.init(youngPersonID: assignment.youngPersonID, mentorID: assignment.mentorID, fit: UInt32(clamping: assignment.fit), kept: assignment.kept)
    }
}

extension MentorRefusalMessage {
    init(_ refusal: MentorRefusal) {
        let reason: ProtoMentorRefusalReason
        switch refusal.reason {
        case .noMentorWithFields: reason = .noMentorWithFields
        case .mentorsFull: reason = .mentorsFull
        case .noSharedFreeTime: reason = .noSharedFreeTimeInRange
        }
        let sessions = refusal.sessions == 1 ? "1 session" : "\(refusal.sessions) sessions"
        let mentor = refusal.mentorID.map { " with mentor \($0)" } ?? ""
        let week = refusal.week.map { " (\($0))" } ?? (refusal.mentorID == nil ? "" : " (fewer weeks in the range than sessions)")
        self.init(
            youngPersonID: refusal.youngPersonID, mentorID: refusal.mentorID ?? "", reason: reason, week: refusal.week ?? "",
            sessions: UInt32(clamping: refusal.sessions),
            message: "young person \(refusal.youngPersonID) lacks \(sessions)\(mentor): \(refusal.reason.rawValue)\(week)")
    }
}
