import EnclaveCore
import SGX

/// `enclavekit measure FILE` for SGXS streams: starts with an ECREATE (or UNSIZED) record, size a multiple of 64.
public enum SGXSFormat: MeasurableFormat {
    public static let name = "sgxs"
    public static func matches(prefix: [UInt8], file: FileInput) -> Bool {
        SGXSReader.looksLikeSGXS(prefix: prefix, fileSize: file.size)
    }
    public static func measure(file: FileInput) throws -> MeasurementReport { try measure(file: file, progress: nil) }

    public static func measure(file: FileInput, progress: ProgressFactory?) throws -> MeasurementReport {
        let bar = progress?("measuring \(file.path)", file.size)
        defer { bar?.finish() }
        let s = try SGXSReader.read(file: file, progress: bar)
        return MeasurementReport(
            format: name, title: "SGX stream (SGXS)",
            values: [("MRENCLAVE", s.mrenclave.hex)],
            extra: [
                ("enclave_size", .string("0x" + String(s.size, radix: 16))), ("ssa_frame_size", .int(s.ssaFrameSize)),
                ("pages_added", .int(s.pageCount)), ("chunks_extended", .int(s.measuredChunks)),
                ("canonical", .bool(s.isCanonical)),
            ])
    }
}
