import EnclaveCore

/// Placeholder until the SGX module's measurement lands: matches nothing.
enum SGXSFormat: MeasurableFormat {
    static let name = "sgxs"
    static func matches(prefix: [UInt8], file: FileInput) -> Bool { false }
    static func measure(file: FileInput) throws -> MeasurementReport {
        throw UsageError("sgxs measurement is not implemented yet")
    }
}
