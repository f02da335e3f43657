import EnclaveCore
import OVMF
import TDX

/// Fuzz harnesses for the TDX module's parsers: TDVF metadata (and MRTD over what it accepts), PE/COFF
/// Authenticode layout (and the QEMU header patch), and the CCEL/TCG2 event log.
let tdxHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "tdx-tdvf": { bytes in
        guard let metadata = try? TDVFMetadata(firmware: bytes) else { return }
        // Bound the work: MRTD hashes every page of every section.
        let pages = metadata.sections.reduce(UInt64(0)) { $0 &+ $1.pageCount }
        guard pages <= 1 << 12 else { return }
        _ = try? MRTD.compute(firmware: bytes, metadata: metadata, order: .perPage)
        _ = try? MRTD.compute(firmware: bytes, metadata: metadata, order: .twoPass, skipPageAug: false)
        _ = try? TDHOB(metadata: metadata, memorySize: 2 << 30)
    },
    "tdx-pe": { bytes in
        _ = try? Authenticode.hash(bytes, .sha384)
        _ = try? QEMUKernelHeaderPatch.patches(
            header: Array(bytes.prefix(4096)), kernelSize: UInt64(bytes.count), initrdSize: 1 << 20,
            memorySize: 2 << 30)
    },
    "tdx-eventlog": { bytes in
        guard let log = try? TDXEventLog(bytes: bytes) else { return }
        _ = RTMR.replay(log.events)
        _ = log.entries.map(\.summary)
    },
]
