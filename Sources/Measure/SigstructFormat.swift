import EnclaveCore
import SGX

/// `enclavekit measure FILE` for a raw SIGSTRUCT (`.sig`): 1808 bytes starting with the SIGSTRUCT header.
public enum SigstructFormat: MeasurableFormat {
    public static let name = "sigstruct"
    public static func matches(prefix: [UInt8], file: FileInput) -> Bool {
        file.size == UInt64(Sigstruct.size) && prefix.starts(with: Sigstruct.header)
    }
    public static func measure(file: FileInput) throws -> MeasurementReport {
        let sig = try Sigstruct(bytes: file.readAll(limit: UInt64(Sigstruct.size), format: Sigstruct.format))
        let verification = try sig.verify()
        return MeasurementReport(
            format: name, title: "SGX SIGSTRUCT",
            values: [
                ("MRENCLAVE", sig.enclaveHash.hex), ("MRSIGNER", sig.mrsigner.hex),
                ("ISVPRODID", String(sig.isvProdID)), ("ISVSVN", String(sig.isvSVN)),
                ("signature", verification.isValid ? "valid" : "INVALID"),
            ],
            extra: [("sigstruct", sig.json(verification: verification))],
            problems: (verification.signatureValid ? [] : ["the signature does not verify"])
                + (verification.q1q2Valid ? [] : ["Q1/Q2 do not match the signature (EINIT rejects it)"]))
    }
}
