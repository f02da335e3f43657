import EnclaveCore

/// Placeholder until the SNP module's measurement lands: matches nothing.
enum SNPFirmwareFormat: MeasurableFormat {
    static let name = "ovmf-snp"
    static func matches(prefix: [UInt8], file: FileInput) -> Bool { false }
    static func measure(file: FileInput) throws -> MeasurementReport {
        throw UsageError("ovmf-snp measurement is not implemented yet")
    }
}
