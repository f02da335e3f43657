import EnclaveCore
import Nitro

#if canImport(Glibc)
    import Glibc
#endif

/// Fuzz harnesses for the Nitro module's parsers.
let nitroHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "eif": { bytes in fuzzEIF(bytes) },
    "cbor": { bytes in _ = try? CBORDecoder().decode(bytes) },
    "eif-signature": { bytes in
        guard let sig = try? EIFSignature.decode(bytes) else { return }
        _ = try? sig.verify(expectedPCR0: [UInt8](repeating: 0, count: 48))
        _ = try? sig.certificateDER()
    },
]

/// The EIF reader works on files: write the input to a private temporary file and read it back fully.
private func fuzzEIF(_ bytes: [UInt8]) {
    let path = "/tmp/enclavekit-fuzz-\(getpid()).eif"
    guard (try? AtomicOutput.write(bytes, to: path)) != nil else { return }
    defer { unlink(path) }
    guard let file = try? FileInput(path: path), let image = try? EIFImage(file: file) else { return }
    _ = try? image.measure(checkCRC: true)
    _ = try? EIFDescription(image: image)
}
