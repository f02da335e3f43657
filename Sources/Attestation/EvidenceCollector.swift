import EnclaveCore
import Nitro

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Collects evidence on the node itself, so operators need no other tool:
///
/// - SEV-SNP and TDX guests through Linux configfs-tsm (`Documentation/ABI/testing/configfs-tsm`): make
///   an entry under `/sys/kernel/config/tsm/report`, write the report data to `inblob`, read `outblob`
///   (the report or quote) and `auxblob` (the certificates, when the host provides them), checking that
///   `generation` did not move in between (another writer).
/// - Nitro enclaves through `/dev/nsm`: an NSM `Attestation` request (CBOR) over the driver's ioctl. This
///   path can only run inside a Nitro enclave.
///
/// ```swift
/// let evidence = try EvidenceCollector.configfsTSM(reportData: nonce, directory: EvidenceCollector.tsmDirectory)
/// ```
public enum EvidenceCollector {
    public static let tsmDirectory = "/sys/kernel/config/tsm/report"
    public static let nsmDevice = "/dev/nsm"

    public struct Collected: Sendable {
        /// The report (SNP) or quote (TDX), or the Nitro attestation document.
        public var evidence: [UInt8]
        /// configfs-tsm's `auxblob` (SNP: the certificate table), when present and non-empty.
        public var auxblob: [UInt8]?
        /// configfs-tsm's `provider` (`sev_guest`, `tdx_guest`), or `nsm`.
        public var provider: String
    }

    /// Through configfs-tsm under `directory`. The entry `enclavekit` is made and removed afterwards, or
    /// reused when it exists (another run, or a directory that mimics configfs in tests); `generation`
    /// tells when another writer used it in between, and the request is then retried.
    public static func configfsTSM(reportData: [UInt8], directory: String = tsmDirectory) throws -> Collected {
        guard reportData.count <= 64 else {
            throw CollectorError.reportDataTooLong(count: reportData.count)
        }
        let padded = reportData + [UInt8](repeating: 0, count: 64 - reportData.count)
        guard access(directory, F_OK) == 0 else {
            throw SystemError(
                "open the configfs-tsm report directory (is configfs mounted and this an SNP or TDX guest?)",
                path: directory, errno: errno)
        }
        let entry = directory + "/enclavekit"
        var made = false
        if mkdir(entry, 0o700) == 0 {
            made = true
        } else if errno != EEXIST {
            throw SystemError("make a configfs-tsm entry", path: entry, errno: errno)
        }
        defer { if made { rmdir(entry) } }
        for _ in 0..<3 {
            let before = try? readSmall(entry + "/generation")
            try writeFile(entry + "/inblob", padded)
            let out = try readSmall(entry + "/outblob")
            let aux = try? readSmall(entry + "/auxblob")
            let provider = (try? readSmall(entry + "/provider")).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let after = try? readSmall(entry + "/generation")
            if before != nil, after != nil, let b = before, let a = after, Self.number(a) != Self.number(b) + 1 {
                continue  // another writer used the entry between our write and read: retry
            }
            guard !out.isEmpty else {
                throw FormatError(.missing, format: "configfs-tsm", offset: nil, "outblob is empty", file: entry)
            }
            return Collected(
                evidence: out, auxblob: aux.flatMap { $0.isEmpty ? nil : $0 },
                provider: trimmed(provider))
        }
        throw FormatError(
            .badValue, format: "configfs-tsm", offset: nil, "generation kept changing: another process uses the entry",
            file: entry)
    }

    static func number(_ bytes: [UInt8]) -> Int {
        Int(trimmed(String(decoding: bytes, as: UTF8.self))) ?? -1
    }

    static func trimmed(_ text: String) -> String {
        String(text.drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }

    static func readSmall(_ path: String) throws -> [UInt8] {
        try FileInput.contents(of: path, limit: 1 << 20, format: "configfs-tsm")
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("open for writing", path: path, errno: errno) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { buffer in try writeAll(fd, buffer, path: path) }
    }

    /// The NSM request `{"Attestation": {"user_data": …, "nonce": …, "public_key": null}}` (nsm-api's
    /// serde encoding of `Request::Attestation`).
    public static func nsmRequest(userData: [UInt8]?, nonce: [UInt8]?) -> [UInt8] {
        CBOR.map([
            (
                .text("Attestation"),
                .map([
                    (.text("user_data"), userData.map { .bytes($0) } ?? .null),
                    (.text("nonce"), nonce.map { .bytes($0) } ?? .null),
                    (.text("public_key"), .null),
                ])
            )
        ]).encoded()
    }

    /// The document from an NSM response `{"Attestation": {"document": bstr}}`, or the NSM's error.
    public static func nsmDocument(response: [UInt8]) throws(FormatError) -> [UInt8] {
        let item = try CBORDecoder().decode(response)
        if let error = item["Error"] {
            throw FormatError(
                .badValue, format: "NSM response", offset: 0, "the NSM refused: \(error.briefDescription)")
        }
        guard let document = item["Attestation"]?["document"]?.byteString else {
            throw FormatError(.badValue, format: "NSM response", offset: 0, "no Attestation.document in the response")
        }
        return document
    }

    /// Asks `/dev/nsm` for an attestation document (only possible inside a Nitro enclave).
    public static func nitroNSM(userData: [UInt8]?, nonce: [UInt8]?, device: String = nsmDevice) throws -> Collected {
        let fd = open(device, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw SystemError("open the Nitro Secure Module (only inside a Nitro enclave)", path: device, errno: errno)
        }
        defer { close(fd) }
        var request = nsmRequest(userData: userData, nonce: nonce)
        var response = [UInt8](repeating: 0, count: 0x3000)  // NSM_RESPONSE_MAX_SIZE
        let capacity = response.count
        let (status, used): (Int32, Int) = request.withUnsafeMutableBytes { req in
            response.withUnsafeMutableBytes { resp in
                // struct nsm_message { struct iovec request; struct iovec response; } (linux nsm.h)
                var message = (
                    iovec(iov_base: req.baseAddress, iov_len: req.count),
                    iovec(iov_base: resp.baseAddress, iov_len: resp.count)
                )
                let status = withUnsafeMutableBytes(of: &message) {
                    pointerIoctl(fd, nsmIoctlAttestation, $0.baseAddress)
                }
                // The driver sets response.iov_len to the length of the response.
                return (status, message.1.iov_len)
            }
        }
        guard status >= 0 else { throw SystemError("send the NSM Attestation request", path: device, errno: errno) }
        guard used <= capacity else {
            throw FormatError(.tooLarge, format: "NSM response", offset: nil, "\(used) bytes, more than \(capacity)")
        }
        return Collected(evidence: try nsmDocument(response: Array(response[..<used])), auxblob: nil, provider: "nsm")
    }

    /// ioctl(2) with one pointer argument. Swift does not import C variadic functions, so libc's `ioctl`
    /// is looked up and called through a fixed prototype: on the Linux ABIs (x86-64 SysV, AAPCS64) a
    /// variadic pointer argument is passed exactly as a fixed one.
    static func pointerIoctl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer?) -> Int32 {
        typealias Fixed = @convention(c) (Int32, UInt, UnsafeMutableRawPointer?) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "ioctl") else {
            errno = ENOSYS
            return -1
        }
        return unsafeBitCast(symbol, to: Fixed.self)(fd, request, argument)
    }

    /// `_IOWR(0x0A, 0, struct nsm_message)`: read|write, 32-byte argument, type 0x0A, number 0.
    static let nsmIoctlAttestation = UInt((3 << 30) | (32 << 16) | (0x0A << 8))
}
