import ArgumentParser
import Attestation
import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

struct AttestCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Collect this node's attestation evidence (configfs-tsm on SEV-SNP/TDX, /dev/nsm on Nitro).",
        discussion: """
            On an SEV-SNP or TDX guest, uses Linux configfs-tsm (/sys/kernel/config/tsm/report, or \
            --tsm-dir): writes the report data to inblob and saves outblob (the report or quote) to \
            --out, and auxblob (the host's certificates, when present) to OUT.auxblob. Inside a Nitro \
            enclave (when /dev/nsm exists and --tsm-dir is not given), sends an NSM Attestation request \
            with the report data as user_data (and --nonce as nonce); this path can only be tried on a \
            Nitro host. Files are written atomically.

            Exit status: 0 written; 1 the interface failed; 64 usage error.

            Examples:
              enclavekit attest collect --report-data $(sha256sum challenge | cut -c1-64) --out report.bin
              enclavekit attest collect --report-data 00 --nonce 0x8a1f --out doc.cbor
              enclavekit attest collect --report-data 00 --out quote.bin --tsm-dir /tmp/fake-tsm
            """)

    @Option(name: .customLong("report-data"), help: "Hex (at most 64 bytes, zero-padded) to bind into the evidence.")
    var reportData: String

    @Option(help: "Where to write the evidence.")
    var out: String

    @Option(
        name: .customLong("tsm-dir"), help: "The configfs-tsm report directory (default /sys/kernel/config/tsm/report)."
    )
    var tsmDir: String?

    @Option(help: "Nitro only: hex nonce for the NSM request.")
    var nonce: String?

    @Flag(help: "Replace an existing --out file (and its .auxblob); without it they are never replaced.")
    var force = false

    func validate() throws {
        let data = try parseHex(reportData, option: "--report-data")
        guard data.count <= 64 else { throw ValidationError("--report-data is \(data.count) bytes, at most 64") }
        if let nonce { _ = try parseHex(nonce, option: "--nonce") }
    }

    func run() throws {
        let data = try parseHex(reportData, option: "--report-data")
        for path in [out, out + ".auxblob"] where !force && FileStatus(path) != nil {
            throw UsageError("\(path) already exists", hint: "choose another --out, or pass --force to replace it")
        }
        let collected: EvidenceCollector.Collected
        if tsmDir == nil, access(EvidenceCollector.nsmDevice, F_OK) == 0 {
            collected = try EvidenceCollector.nitroNSM(
                userData: data, nonce: try nonce.map { try parseHex($0, option: "--nonce") })
        } else {
            collected = try EvidenceCollector.configfsTSM(
                reportData: data, directory: tsmDir ?? EvidenceCollector.tsmDirectory)
        }
        try AtomicOutput.write(collected.evidence, to: out, existing: force ? .replace : .refuse)
        print(
            "wrote \(out) (\(collected.evidence.count) bytes from \(collected.provider.isEmpty ? "configfs-tsm" : collected.provider))"
        )
        if let aux = collected.auxblob {
            try AtomicOutput.write(aux, to: out + ".auxblob", existing: force ? .replace : .refuse)
            print("wrote \(out).auxblob (\(aux.count) bytes of certificates)")
        }
    }
}
