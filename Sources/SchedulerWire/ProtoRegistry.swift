internal import CProtobufC
internal import CSchedulerProto

/// Every message and service descriptor that `Scripts/generate-proto` produced, by full name.
/// Built once; read-only afterwards.
struct ProtoRegistry: @unchecked Sendable {
    // The descriptors are immutable static C data, so sharing the pointers is safe.
    let messages: [String: UnsafePointer<ProtobufCMessageDescriptor>]
    let services: [UnsafePointer<ProtobufCServiceDescriptor>]

    static let shared = ProtoRegistry()

    private init() {
        var messages: [String: UnsafePointer<ProtobufCMessageDescriptor>] = [:]
        for index in 0..<csp_message_descriptor_count() {
            guard let descriptor = csp_message_descriptor(index) else { continue }
            messages[String(cString: descriptor.pointee.name)] = descriptor
        }
        var services: [UnsafePointer<ProtobufCServiceDescriptor>] = []
        for index in 0..<csp_service_descriptor_count() {
            if let descriptor = csp_service_descriptor(index) { services.append(descriptor) }
        }
        self.messages = messages
        self.services = services
    }

    func message(named name: String) throws(WireError) -> UnsafePointer<ProtobufCMessageDescriptor> {
        guard let descriptor = messages[name] else {
            throw WireError(.schema, "no generated descriptor for message \(name)")
        }
        return descriptor
    }
}

/// A method found in the generated service descriptors.
public struct MethodDescriptor: Sendable, Hashable {
    /// `/sos.scheduler.v1.AdminService/Health`.
    public var path: String
    /// `sos.scheduler.v1.AdminService`.
    public var service: String
    /// `Health`.
    public var name: String
    /// Full name of the request message.
    public var inputType: String
    /// Full name of the response message.
    public var outputType: String
}

extension MethodDescriptor {
    /// Every method of every service in `proto/`, read from the generated descriptors.
    public static let all: [MethodDescriptor] = ProtoRegistry.shared.services.flatMap { service in
        let serviceName = String(cString: service.pointee.name)
        return (0..<Int(service.pointee.n_methods)).map { index in
            let method = service.pointee.methods[index]
            let name = String(cString: method.name)
            return MethodDescriptor(
                path: "/\(serviceName)/\(name)",
                service: serviceName,
                name: name,
                inputType: String(cString: method.input.pointee.name),
                outputType: String(cString: method.output.pointee.name)
            )
        }
    }
}
