/// One stored event of a round's waitlist.
public struct IntakeEventRecord: Sendable, Hashable {
    public var event: IntakeEvent
    /// When it happened (milliseconds since 1970).
    public var at: Int64

    public init(event: IntakeEvent, at: Int64) {
        self.event = event
        self.at = at
    }
}

/// A child to confirm at the offer they hold, and the placement that books it.
public struct IntakeConfirmation: Sendable, Hashable {
    public var childID: String
    public var offerID: String
    public var booking: BookingInput

    public init(childID: String, offerID: String, booking: BookingInput) {
        self.childID = childID
        self.offerID = offerID
        self.booking = booking
    }

    /// The event that records this confirmation.
    public func event(at: Int64) -> IntakeEventRecord {
        IntakeEventRecord(event: .confirm(child: childID, offer: offerID), at: at)
    }
}

/// What `confirmIntakePlacements` did: the placements booked (child, offer, placement id) and
/// the children left out, with the reason.
public struct IntakeConfirmed: Sendable, Hashable {
    public struct Placed: Sendable, Hashable {
        public var childID: String
        public var offerID: String
        public var placementID: String

        public init(childID: String, offerID: String, placementID: String) {
            self.childID = childID
            self.offerID = offerID
            self.placementID = placementID
        }
    }

    public struct Refused: Sendable, Hashable {
        public var childID: String
        public var reason: String

        public init(childID: String, reason: String) {
            self.childID = childID
            self.reason = reason
        }
    }

    public var placed: [Placed] = []
    public var refused: [Refused] = []

    public init(placed: [Placed] = [], refused: [Refused] = []) {
        self.placed = placed
        self.refused = refused
    }
}
