import EnclaveCore
import Nitro
import TestSupport
import Testing

@testable import Attestation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The NSM request and response encodings (the ioctl itself needs a Nitro enclave) and configfs-tsm
/// errors that need no kernel.
@Suite struct CollectorTests {
    @Test func nsmRequestIsNSMAPIsSerdeEncoding() throws {
        let request = EvidenceCollector.nsmRequest(userData: [1, 2], nonce: nil)
        // {"Attestation": {"user_data": h'0102', "nonce": null, "public_key": null}}
        #expect(
            Hex.encode(request)
                == "a16b4174746573746174696f6ea369757365725f64617461420102656e6f6e6365f66a7075626c69635f6b6579f6")
    }

    @Test func nsmResponseGivesTheDocumentOrTheError() throws {
        let ok = CBOR.map([(.text("Attestation"), .map([(.text("document"), .bytes([0x84, 1, 2]))]))]).encoded()
        #expect(try EvidenceCollector.nsmDocument(response: ok) == [0x84, 1, 2])
        let refused = CBOR.map([(.text("Error"), .text("InvalidArgument"))]).encoded()
        let refusal = #expect(throws: FormatError.self) { try EvidenceCollector.nsmDocument(response: refused) }
        #expect(refusal?.kind == .badValue)
        #expect(refusal?.message.contains("refused: \"InvalidArgument\"") == true)
        let empty = #expect(throws: FormatError.self) { try EvidenceCollector.nsmDocument(response: [0xa0]) }
        #expect(empty?.kind == .badValue)
        #expect(empty?.message.contains("no Attestation.document") == true)
    }

    /// The missing directories are inside a fresh test directory: "/nonexistent" can exist (it is the home
    /// of some system users), and as root the collector then made an entry there and failed later, on outblob.
    @Test func configfsErrors() throws {
        let dir = try TestDirectory()
        let absent = dir.path + "/absent"
        #expect(throws: CollectorError.reportDataTooLong(count: 65)) {
            try EvidenceCollector.configfsTSM(reportData: [UInt8](repeating: 0, count: 65), directory: absent)
        }
        let noTSM = #expect(throws: SystemError.self) {
            try EvidenceCollector.configfsTSM(reportData: [1], directory: absent)
        }
        #expect(noTSM?.errno == ENOENT)
        #expect(noTSM?.path == absent)
        #expect(noTSM?.operation.contains("configfs-tsm report directory") == true)
        let noNSM = #expect(throws: SystemError.self) {
            try EvidenceCollector.nitroNSM(userData: nil, nonce: nil, device: absent + "/nsm")
        }
        #expect(noNSM?.errno == ENOENT)
        #expect(noNSM?.path == absent + "/nsm")
        #expect(noNSM?.operation.contains("Nitro Secure Module") == true)
        #expect(try dir.list().isEmpty)
    }
}
