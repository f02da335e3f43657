import EnclaveCore

/// Placeholder until the SGX module's measurement lands: matches nothing.
enum SigstructFormat: MeasurableFormat {
    static let name = "sigstruct"
    static func matches(prefix: [UInt8], file: FileInput) -> Bool { false }
    static func measure(file: FileInput) throws -> MeasurementReport {
        throw UsageError("sigstruct measurement is not implemented yet")
    }
}
