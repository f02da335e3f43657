import EnclaveCore
import SGX

/// Fuzz harnesses for the SGX module's parsers: SGXS streams, SIGSTRUCTs (and their verification), ELF
/// enclaves (headers, the selftest layout rule, embedded SIGSTRUCT sections) and Gramine manifests.
let sgxHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "sgx-sgxs": { bytes in _ = try? SGXSReader.read(bytes: bytes) },
    "sgx-sigstruct": { bytes in
        guard let sig = try? Sigstruct(bytes: bytes) else { return }
        _ = try? sig.verify()
        _ = sig.serialized
    },
    "sgx-elf": { bytes in
        guard let elf = try? ELFFile(bytes: bytes) else { return }
        _ = try? SelftestELFLayout.plan(elf: elf, heapSize: 4096, tail: .zero)
        for section in elf.sections where section.offset <= UInt64(bytes.count) {
            let end = section.offset.addingReportingOverflow(section.size)
            guard !end.overflow, end.partialValue <= UInt64(bytes.count) else { continue }
            let contents = Array(bytes[Int(section.offset)..<Int(end.partialValue)])
            _ = try? SigstructLocator.fromSGXMeta(contents, sectionOffset: section.offset)
            _ = try? SigstructLocator.fromOEInfo(contents, sectionOffset: section.offset)
        }
    },
    "sgx-gramine-manifest": { bytes in _ = try? GramineLayout.attributes(manifest: bytes) },
]
