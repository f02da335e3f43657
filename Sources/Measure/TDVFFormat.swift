import EnclaveCore
import OVMF
import TDX

/// OVMF/TDVF firmware: MRTD for the defaults (per-page order as in QEMU ≥ 9, and the two-pass order
/// of QEMU 8.x TDX trees), detected by the reset-vector GUID table's TDX metadata entry.
public enum TDVFFormat: MeasurableFormat {
    public static let name = "tdvf"

    public static func matches(prefix: [UInt8], file: FileInput) -> Bool {
        guard file.size >= 4096, file.size <= TDXMeasurer.firmwareLimit,
            let tail = try? file.read(at: file.size - 48, count: 16, format: "firmware"),
            tail == EFIGUID.tableFooter.bytes,
            let fw = try? file.read(at: 0, count: Int(file.size), format: "firmware")
        else { return false }
        return TDVFMetadata.isPresent(in: fw)
    }

    public static func measure(file: FileInput) throws -> MeasurementReport {
        let fw = try file.read(at: 0, count: Int(file.size), format: "firmware")
        let metadata = try TDVFMetadata(firmware: fw)
        let perPage = try MRTD.compute(firmware: fw, metadata: metadata, order: .perPage)
        let twoPass = try MRTD.compute(firmware: fw, metadata: metadata, order: .twoPass)
        let sections: [JSONValue] = metadata.sections.map { s in
            .object([
                ("type", .string(s.type.description)), ("data_offset", .int(s.dataOffset)),
                ("raw_data_size", .int(s.rawDataSize)), ("memory_address", .int(s.memoryAddress)),
                ("memory_data_size", .int(s.memoryDataSize)), ("attributes", .int(s.attributes)),
            ])
        }
        return MeasurementReport(
            format: name, title: "OVMF/TDVF firmware (Intel TDX, \(metadata.sections.count) TDVF sections)",
            values: [("mrtd", perPage.hex), ("mrtd_two_pass", twoPass.hex)],
            extra: [
                ("notes", .string("mrtd: per-page order (QEMU >= 9); mrtd_two_pass: QEMU 8.x TDX trees")),
                ("tdvf_sections", .array(sections)),
            ])
    }
}
