// Swift values for proto/sos/scheduler/v1/intake.proto, read and written through the generated
// protobuf-c descriptors (ProtoReader/ProtoWriter). Field names are the proto's.

/// `sos.scheduler.v1.IntakeRound`.
public struct IntakeRoundMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.IntakeRound"
    public var id: String
    public var siteID: String
    public var name: String
    public var termFirst: String
    public var termLast: String
    public var deadlineMS: Int64
    public var seed: UInt64
    public var priorityOrder: [String]
    public var state: String
    public var offers: [IntakeOfferMessage]
    public var applications: UInt32

    public init(
        id: String = "", siteID: String = "", name: String = "", termFirst: String = "", termLast: String = "", deadlineMS: Int64 = 0, seed: UInt64 = 0,
        priorityOrder: [String] = [], state: String = "", offers: [IntakeOfferMessage] = [], applications: UInt32 = 0
    ) {
        self.id = id
        self.siteID = siteID
        self.name = name
        self.termFirst = termFirst
        self.termLast = termLast
        self.deadlineMS = deadlineMS
        self.seed = seed
        self.priorityOrder = priorityOrder
        self.state = state
        self.offers = offers
        self.applications = applications
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        siteID = try reader.string("site_id")
        name = try reader.string("name")
        termFirst = try reader.string("term_first")
        termLast = try reader.string("term_last")
        deadlineMS = try reader.int64("deadline_ms")
        seed = try reader.uint64("seed")
        priorityOrder = try reader.repeatedStrings("priority_order")
        state = try reader.string("state")
        offers = try reader.repeatedMessages("offers")
        applications = try reader.uint32("applications")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("site_id", string: siteID)
        writer.set("name", string: name)
        writer.set("term_first", string: termFirst)
        writer.set("term_last", string: termLast)
        writer.set("deadline_ms", int64: deadlineMS)
        writer.set("seed", uint64: seed)
        writer.set("priority_order", strings: priorityOrder)
        writer.set("state", string: state)
        writer.set("offers", messages: offers)
        writer.set("applications", uint32: applications)
    }
}

/// `sos.scheduler.v1.IntakeOffer`.
public struct IntakeOfferMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.IntakeOffer"
    public var id: String
    public var roundID: String
    public var groupID: String
    public var nurseryID: String
    public var pattern: String
    public var places: UInt32
    public var reservedSOS: UInt32
    public var reservedLocal: UInt32

    public init(
        id: String = "", roundID: String = "", groupID: String = "", nurseryID: String = "", pattern: String = "", places: UInt32 = 0, reservedSOS: UInt32 = 0,
        reservedLocal: UInt32 = 0
    ) {
        self.id = id
        self.roundID = roundID
        self.groupID = groupID
        self.nurseryID = nurseryID
        self.pattern = pattern
        self.places = places
        self.reservedSOS = reservedSOS
        self.reservedLocal = reservedLocal
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        roundID = try reader.string("round_id")
        groupID = try reader.string("group_id")
        nurseryID = try reader.string("nursery_id")
        pattern = try reader.string("pattern")
        places = try reader.uint32("places")
        reservedSOS = try reader.uint32("reserved_sos")
        reservedLocal = try reader.uint32("reserved_local")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("round_id", string: roundID)
        writer.set("group_id", string: groupID)
        writer.set("nursery_id", string: nurseryID)
        writer.set("pattern", string: pattern)
        writer.set("places", uint32: places)
        writer.set("reserved_sos", uint32: reservedSOS)
        writer.set("reserved_local", uint32: reservedLocal)
    }
}

/// `sos.scheduler.v1.CreateRoundRequest`.
public struct CreateRoundRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.CreateRoundRequest"
    public var round: IntakeRoundMessage?

    public init(round: IntakeRoundMessage? = nil) {
        self.round = round
    }

    public init(reader: ProtoReader) throws(WireError) {
        round = try reader.message("round")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round", message: round)
    }
}

/// `sos.scheduler.v1.GetRoundRequest`.
public struct GetRoundRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetRoundRequest"
    public var id: String

    public init(id: String = "") {
        self.id = id
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
    }
}

/// `sos.scheduler.v1.OpenOfferRequest`.
public struct OpenOfferRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.OpenOfferRequest"
    public var offer: IntakeOfferMessage?

    public init(offer: IntakeOfferMessage? = nil) {
        self.offer = offer
    }

    public init(reader: ProtoReader) throws(WireError) {
        offer = try reader.message("offer")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("offer", message: offer)
    }
}

/// `sos.scheduler.v1.Application`.
public struct ApplicationMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Application"
    public var childID: String
    public var ranking: [String]

    public init(childID: String = "", ranking: [String] = []) {
        self.childID = childID
        self.ranking = ranking
    }

    public init(reader: ProtoReader) throws(WireError) {
        childID = try reader.string("child_id")
        ranking = try reader.repeatedStrings("ranking")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child_id", string: childID)
        writer.set("ranking", strings: ranking)
    }
}

/// `sos.scheduler.v1.SubmitApplicationsRequest`.
public struct SubmitApplicationsRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.SubmitApplicationsRequest"
    public var roundID: String
    public var applications: [ApplicationMessage]

    public init(roundID: String = "", applications: [ApplicationMessage] = []) {
        self.roundID = roundID
        self.applications = applications
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        applications = try reader.repeatedMessages("applications")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("applications", messages: applications)
    }
}

/// `sos.scheduler.v1.SubmitApplicationsResponse`.
public struct SubmitApplicationsResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.SubmitApplicationsResponse"
    public var submitted: UInt32

    public init(submitted: UInt32 = 0) {
        self.submitted = submitted
    }

    public init(reader: ProtoReader) throws(WireError) {
        submitted = try reader.uint32("submitted")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("submitted", uint32: submitted)
    }
}

/// `sos.scheduler.v1.WithdrawApplicationRequest`.
public struct WithdrawApplicationRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.WithdrawApplicationRequest"
    public var roundID: String
    public var childID: String

    public init(roundID: String = "", childID: String = "") {
        self.roundID = roundID
        self.childID = childID
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        childID = try reader.string("child_id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("child_id", string: childID)
    }
}

/// `sos.scheduler.v1.WithdrawApplicationResponse`.
public struct WithdrawApplicationResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.WithdrawApplicationResponse"
    public var childID: String

    public init(childID: String = "") {
        self.childID = childID
    }

    public init(reader: ProtoReader) throws(WireError) {
        childID = try reader.string("child_id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child_id", string: childID)
    }
}

/// `sos.scheduler.v1.RunRoundRequest`.
public struct RunRoundRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RunRoundRequest"
    public var roundID: String
    public var dryRun: Bool
    public var closeEarly: Bool

    public init(roundID: String = "", dryRun: Bool = false, closeEarly: Bool = false) {
        self.roundID = roundID
        self.dryRun = dryRun
        self.closeEarly = closeEarly
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        dryRun = try reader.bool("dry_run")
        closeEarly = try reader.bool("close_early")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("dry_run", bool: dryRun)
        writer.set("close_early", bool: closeEarly)
    }
}

/// `sos.scheduler.v1.OfferFill`.
public struct OfferFillMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.OfferFill"
    public var offerID: String
    public var places: UInt32
    public var held: UInt32
    public var heldReservedSOS: UInt32
    public var heldReservedLocal: UInt32
    public var waiting: UInt32

    public init(offerID: String = "", places: UInt32 = 0, held: UInt32 = 0, heldReservedSOS: UInt32 = 0, heldReservedLocal: UInt32 = 0, waiting: UInt32 = 0) {
        self.offerID = offerID
        self.places = places
        self.held = held
        self.heldReservedSOS = heldReservedSOS
        self.heldReservedLocal = heldReservedLocal
        self.waiting = waiting
    }

    public init(reader: ProtoReader) throws(WireError) {
        offerID = try reader.string("offer_id")
        places = try reader.uint32("places")
        held = try reader.uint32("held")
        heldReservedSOS = try reader.uint32("held_reserved_sos")
        heldReservedLocal = try reader.uint32("held_reserved_local")
        waiting = try reader.uint32("waiting")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("offer_id", string: offerID)
        writer.set("places", uint32: places)
        writer.set("held", uint32: held)
        writer.set("held_reserved_sos", uint32: heldReservedSOS)
        writer.set("held_reserved_local", uint32: heldReservedLocal)
        writer.set("waiting", uint32: waiting)
    }
}

/// `sos.scheduler.v1.RunRoundResponse`.
public struct RunRoundResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RunRoundResponse"
    public var applications: UInt32
    public var placed: UInt32
    public var firstChoice: UInt32
    public var offers: [OfferFillMessage]
    public var dryRun: Bool

    public init(applications: UInt32 = 0, placed: UInt32 = 0, firstChoice: UInt32 = 0, offers: [OfferFillMessage] = [], dryRun: Bool = false) {
        self.applications = applications
        self.placed = placed
        self.firstChoice = firstChoice
        self.offers = offers
        self.dryRun = dryRun
    }

    public init(reader: ProtoReader) throws(WireError) {
        applications = try reader.uint32("applications")
        placed = try reader.uint32("placed")
        firstChoice = try reader.uint32("first_choice")
        offers = try reader.repeatedMessages("offers")
        dryRun = try reader.bool("dry_run")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("applications", uint32: applications)
        writer.set("placed", uint32: placed)
        writer.set("first_choice", uint32: firstChoice)
        writer.set("offers", messages: offers)
        writer.set("dry_run", bool: dryRun)
    }
}

/// `sos.scheduler.v1.ChildResult`.
public struct ChildResultMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ChildResult"
    public var childID: String
    public var offerID: String
    public var seat: String
    public var choice: UInt32

    public init(childID: String = "", offerID: String = "", seat: String = "", choice: UInt32 = 0) {
        self.childID = childID
        self.offerID = offerID
        self.seat = seat
        self.choice = choice
    }

    public init(reader: ProtoReader) throws(WireError) {
        childID = try reader.string("child_id")
        offerID = try reader.string("offer_id")
        seat = try reader.string("seat")
        choice = try reader.uint32("choice")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child_id", string: childID)
        writer.set("offer_id", string: offerID)
        writer.set("seat", string: seat)
        writer.set("choice", uint32: choice)
    }
}

/// `sos.scheduler.v1.GetResultsRequest`.
public struct GetResultsRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetResultsRequest"
    public var roundID: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(roundID: String = "", pageSize: UInt32 = 0, pageToken: String = "") {
        self.roundID = roundID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.GetResultsResponse`.
public struct GetResultsResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetResultsResponse"
    public var results: [ChildResultMessage]
    public var offers: [OfferFillMessage]
    public var nextPageToken: String

    public init(results: [ChildResultMessage] = [], offers: [OfferFillMessage] = [], nextPageToken: String = "") {
        self.results = results
        self.offers = offers
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        results = try reader.repeatedMessages("results")
        offers = try reader.repeatedMessages("offers")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("results", messages: results)
        writer.set("offers", messages: offers)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.GetWaitlistRequest`.
public struct GetWaitlistRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetWaitlistRequest"
    public var roundID: String
    public var offerID: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(roundID: String = "", offerID: String = "", pageSize: UInt32 = 0, pageToken: String = "") {
        self.roundID = roundID
        self.offerID = offerID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        offerID = try reader.string("offer_id")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("offer_id", string: offerID)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.WaitlistEntry`.
public struct WaitlistEntryMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.WaitlistEntry"
    public var position: UInt32
    public var childID: String

    public init(position: UInt32 = 0, childID: String = "") {
        self.position = position
        self.childID = childID
    }

    public init(reader: ProtoReader) throws(WireError) {
        position = try reader.uint32("position")
        childID = try reader.string("child_id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("position", uint32: position)
        writer.set("child_id", string: childID)
    }
}

/// `sos.scheduler.v1.GetWaitlistResponse`.
public struct GetWaitlistResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetWaitlistResponse"
    public var entries: [WaitlistEntryMessage]
    public var pending: [PendingOfferMessage]
    public var nextPageToken: String

    public init(entries: [WaitlistEntryMessage] = [], pending: [PendingOfferMessage] = [], nextPageToken: String = "") {
        self.entries = entries
        self.pending = pending
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        entries = try reader.repeatedMessages("entries")
        pending = try reader.repeatedMessages("pending")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("entries", messages: entries)
        writer.set("pending", messages: pending)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.ExplainRequest`.
public struct ExplainRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ExplainRequest"
    public var roundID: String
    public var childID: String
    public var offerID: String

    public init(roundID: String = "", childID: String = "", offerID: String = "") {
        self.roundID = roundID
        self.childID = childID
        self.offerID = offerID
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        childID = try reader.string("child_id")
        offerID = try reader.string("offer_id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("child_id", string: childID)
        writer.set("offer_id", string: offerID)
    }
}

/// `sos.scheduler.v1.ExplainResponse`.
public struct ExplainResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ExplainResponse"
    public var outcome: String
    public var text: String
    public var choice: UInt32
    public var waitlistPosition: UInt32
    public var decidingCriteria: [String]

    public init(outcome: String = "", text: String = "", choice: UInt32 = 0, waitlistPosition: UInt32 = 0, decidingCriteria: [String] = []) {
        self.outcome = outcome
        self.text = text
        self.choice = choice
        self.waitlistPosition = waitlistPosition
        self.decidingCriteria = decidingCriteria
    }

    public init(reader: ProtoReader) throws(WireError) {
        outcome = try reader.string("outcome")
        text = try reader.string("text")
        choice = try reader.uint32("choice")
        waitlistPosition = try reader.uint32("waitlist_position")
        decidingCriteria = try reader.repeatedStrings("deciding_criteria")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("outcome", string: outcome)
        writer.set("text", string: text)
        writer.set("choice", uint32: choice)
        writer.set("waitlist_position", uint32: waitlistPosition)
        writer.set("deciding_criteria", strings: decidingCriteria)
    }
}

/// `sos.scheduler.v1.PendingOffer`.
public struct PendingOfferMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.PendingOffer"
    public var childID: String
    public var seat: String
    public var deadlineMS: Int64

    public init(childID: String = "", seat: String = "", deadlineMS: Int64 = 0) {
        self.childID = childID
        self.seat = seat
        self.deadlineMS = deadlineMS
    }

    public init(reader: ProtoReader) throws(WireError) {
        childID = try reader.string("child_id")
        seat = try reader.string("seat")
        deadlineMS = try reader.int64("deadline_ms")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child_id", string: childID)
        writer.set("seat", string: seat)
        writer.set("deadline_ms", int64: deadlineMS)
    }
}

/// `sos.scheduler.v1.ReleaseSeatRequest`.
public struct ReleaseSeatRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ReleaseSeatRequest"
    public var roundID: String
    public var childID: String

    public init(roundID: String = "", childID: String = "") {
        self.roundID = roundID
        self.childID = childID
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        childID = try reader.string("child_id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("child_id", string: childID)
    }
}

/// `sos.scheduler.v1.RespondToOfferRequest`.
public struct RespondToOfferRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RespondToOfferRequest"
    public var roundID: String
    public var childID: String
    public var offerID: String
    public var accept: Bool

    public init(roundID: String = "", childID: String = "", offerID: String = "", accept: Bool = false) {
        self.roundID = roundID
        self.childID = childID
        self.offerID = offerID
        self.accept = accept
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        childID = try reader.string("child_id")
        offerID = try reader.string("offer_id")
        accept = try reader.bool("accept")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("child_id", string: childID)
        writer.set("offer_id", string: offerID)
        writer.set("accept", bool: accept)
    }
}

/// `sos.scheduler.v1.ListMovesRequest`.
public struct ListMovesRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListMovesRequest"
    public var roundID: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(roundID: String = "", pageSize: UInt32 = 0, pageToken: String = "") {
        self.roundID = roundID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.Move`.
public struct MoveMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Move"
    public var kind: String
    public var childID: String
    public var offerID: String
    public var seat: String
    public var deadlineMS: Int64

    public init(kind: String = "", childID: String = "", offerID: String = "", seat: String = "", deadlineMS: Int64 = 0) {
        self.kind = kind
        self.childID = childID
        self.offerID = offerID
        self.seat = seat
        self.deadlineMS = deadlineMS
    }

    public init(reader: ProtoReader) throws(WireError) {
        kind = try reader.string("kind")
        childID = try reader.string("child_id")
        offerID = try reader.string("offer_id")
        seat = try reader.string("seat")
        deadlineMS = try reader.int64("deadline_ms")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("kind", string: kind)
        writer.set("child_id", string: childID)
        writer.set("offer_id", string: offerID)
        writer.set("seat", string: seat)
        writer.set("deadline_ms", int64: deadlineMS)
    }
}

/// `sos.scheduler.v1.MovesResponse`.
public struct MovesResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.MovesResponse"
    public var moves: [MoveMessage]
    public var nextPageToken: String

    public init(moves: [MoveMessage] = [], nextPageToken: String = "") {
        self.moves = moves
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        moves = try reader.repeatedMessages("moves")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("moves", messages: moves)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.ConfirmPlacementsRequest`.
public struct ConfirmPlacementsRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ConfirmPlacementsRequest"
    public var roundID: String
    public var childIDs: [String]
    public var pageToken: String

    public init(roundID: String = "", childIDs: [String] = [], pageToken: String = "") {
        self.roundID = roundID
        self.childIDs = childIDs
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        roundID = try reader.string("round_id")
        childIDs = try reader.repeatedStrings("child_ids")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("round_id", string: roundID)
        writer.set("child_ids", strings: childIDs)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.ConfirmedPlacement`.
public struct ConfirmedPlacementMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ConfirmedPlacement"
    public var childID: String
    public var offerID: String
    public var placementID: String

    public init(childID: String = "", offerID: String = "", placementID: String = "") {
        self.childID = childID
        self.offerID = offerID
        self.placementID = placementID
    }

    public init(reader: ProtoReader) throws(WireError) {
        childID = try reader.string("child_id")
        offerID = try reader.string("offer_id")
        placementID = try reader.string("placement_id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child_id", string: childID)
        writer.set("offer_id", string: offerID)
        writer.set("placement_id", string: placementID)
    }
}

/// `sos.scheduler.v1.RefusedConfirmation`.
public struct RefusedConfirmationMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RefusedConfirmation"
    public var childID: String
    public var reason: String

    public init(childID: String = "", reason: String = "") {
        self.childID = childID
        self.reason = reason
    }

    public init(reader: ProtoReader) throws(WireError) {
        childID = try reader.string("child_id")
        reason = try reader.string("reason")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child_id", string: childID)
        writer.set("reason", string: reason)
    }
}

/// `sos.scheduler.v1.ConfirmPlacementsResponse`.
public struct ConfirmPlacementsResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ConfirmPlacementsResponse"
    public var confirmed: [ConfirmedPlacementMessage]
    public var refused: [RefusedConfirmationMessage]
    public var nextPageToken: String

    public init(confirmed: [ConfirmedPlacementMessage] = [], refused: [RefusedConfirmationMessage] = [], nextPageToken: String = "") {
        self.confirmed = confirmed
        self.refused = refused
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        confirmed = try reader.repeatedMessages("confirmed")
        refused = try reader.repeatedMessages("refused")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("confirmed", messages: confirmed)
        writer.set("refused", messages: refused)
        writer.set("next_page_token", string: nextPageToken)
    }
}
