import EnclaveCore
import Nitro
import Testing

@testable import Attestation

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
        #expect(throws: FormatError.self) { try EvidenceCollector.nsmDocument(response: refused) }
        #expect(throws: FormatError.self) { try EvidenceCollector.nsmDocument(response: [0xa0]) }
    }

    @Test func configfsErrors() {
        #expect(throws: CollectorError.reportDataTooLong(count: 65)) {
            try EvidenceCollector.configfsTSM(reportData: [UInt8](repeating: 0, count: 65), directory: "/nonexistent")
        }
        #expect(throws: SystemError.self) {
            try EvidenceCollector.configfsTSM(reportData: [1], directory: "/nonexistent")
        }
        #expect(throws: SystemError.self) {
            try EvidenceCollector.nitroNSM(userData: nil, nonce: nil, device: "/nonexistent/nsm")
        }
    }
}
