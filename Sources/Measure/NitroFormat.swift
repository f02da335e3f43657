import EnclaveCore
import Nitro

/// `enclavekit measure` for AWS Nitro Enclaves images.
public enum EIFFormat: MeasurableFormat {
    public static let name = "eif"

    public static func matches(prefix: [UInt8], file: FileInput) -> Bool { prefix.starts(with: EIFLayout.magic) }

    public static func measure(file: FileInput) throws -> MeasurementReport { try measure(file: file, progress: nil) }

    public static func measure(file: FileInput, progress: ProgressFactory?) throws -> MeasurementReport {
        let image = try EIFImage(file: file)
        let bar = progress?("measuring \(file.path)", file.size)
        defer { bar?.finish() }
        // The full description: the CRC-32 and the signature are checked too (in the same single pass).
        let d = try EIFDescription(image: image, progress: bar)
        let m = d.measurements
        return MeasurementReport(
            format: name, title: "AWS Nitro Enclaves EIF v\(image.header.version) (\(image.architecture.rawValue))",
            values: rows(m), extra: [("HashAlgorithm", .string(PCR.algorithmName(m.algorithm)))], problems: d.problems)
    }

    public static func rows(_ m: EIFMeasurements) -> [(String, String)] {
        var rows = [("PCR0", m.pcr0.hex), ("PCR1", m.pcr1.hex), ("PCR2", m.pcr2.hex)]
        if let pcr8 = m.pcr8 { rows.append(("PCR8", pcr8.hex)) }
        return rows
    }
}
