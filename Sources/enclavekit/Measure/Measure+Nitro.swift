import EnclaveCore

enum EIFFormat: MeasurableFormat {
    static let name = "eif"
    static func matches(prefix: [UInt8], file: FileInput) -> Bool { prefix.starts(with: Array(".eif".utf8)) }
    static func measure(file: FileInput) throws -> MeasurementReport {
        throw UsageError("EIF measurement is not implemented yet")
    }
}
