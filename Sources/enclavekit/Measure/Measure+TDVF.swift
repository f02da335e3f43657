import EnclaveCore

/// Placeholder until the TDX module's measurement lands: matches nothing.
enum TDVFFormat: MeasurableFormat {
    static let name = "tdvf"
    static func matches(prefix: [UInt8], file: FileInput) -> Bool { false }
    static func measure(file: FileInput) throws -> MeasurementReport {
        throw UsageError("tdvf measurement is not implemented yet")
    }
}
