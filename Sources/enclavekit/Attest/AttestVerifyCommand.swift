import ArgumentParser
import Attestation
import EnclaveCore
import Release

struct AttestVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify attestation evidence (Nitro, SEV-SNP, TDX, SGX), optionally against a signed release.",
        discussion: """
            The TEE is detected from the bytes unless --tee is given. Checks run in order, each with a \
            stable id: structure, root, chain, crl, collateral, signature, qe-report, qe-identity, \
            vcek-tcb, vcek-hwid, tcb-status, tdx-module, debug, freshness, measurements, release. Roots \
            are pinned (AWS Nitro Enclaves Root G1, AMD ARK/ASK/ASVK per product, Intel SGX Root CA); a \
            root that comes with the evidence is only compared with the pin. Certificates and collateral \
            must be valid at --at (RFC 3339 or Unix seconds; default now): give the evidence's own time \
            to check archived evidence. Default policy: TCB status UpToDate only, no advisories, no \
            debug, Revoked never.

            SEV-SNP needs the VCEK (or VLEK) with --vcek: a certificate, or the certificate table the \
            host gave with the report ('attest collect' writes it to OUT.auxblob); from AMD KDS, the \
            failed 'chain' check prints the URL. --cert-chain is compared with the compiled-in ASK/ARK. A version 2 report needs \
            --product. DCAP quotes need --collateral (dcap-qvl's QuoteCollateralV3 JSON).

            With --release and --policy, the release (its envelopes, or a release directory as 'build' \
            writes it and 'pull' fetches it) must verify as 'enclavekit verify' does, and the \
            evidence's registers must equal the release's target for its TEE (Nitro PCR0-2 and PCR8 \
            when present, SEV-SNP MEASUREMENT, TDX MRTD and RTMRs, SGX MRENCLAVE, MRSIGNER, \
            ISVPRODID, ISVSVN): the 'release' check.

            Several evidence files give one verdict each (the last text line per file, or one JSON \
            object each with --json: verified, tee, verificationTime, checks, failed, measurements, \
            tcbStatus, advisories, release).

            Exit status: 0 every file verified (and matches the release); 1 any file not verified or \
            unreadable; 64 usage error.

            Examples:
              enclavekit attest verify doc.cbor --at 1665651482 --nonce 0x8a1f…
              enclavekit attest verify report.bin --vcek vcek.pem --report-data 00112233 --json
              enclavekit attest verify report-v2.bin --product Genoa --vcek vcek.pem --cert-chain cert_chain.pem
              enclavekit attest verify node-*.cbor --release release.dsse.json --policy policy.json --target nitro
              enclavekit attest verify report.bin --vcek vcek.pem --release pulled-release/ --policy policy.json
              enclavekit attest verify quote.bin --collateral collateral.json --allow-tcb-status SWHardeningNeeded
              enclavekit attest verify doc.cbor --expect PCR0=f4d48b81…
              enclavekit attest verify doc.cbor --max-age 600
              enclavekit attest verify td15-quote.bin --collateral collateral.json --allow-service-td --expect MRSERVICETD=…
            """)

    @Argument(help: "Evidence files: Nitro attestation documents, SEV-SNP reports, DCAP quotes.")
    var evidence: [String] = []

    @Option(help: "The TEE (nitro, sev-snp, tdx, sgx); detected from the bytes when absent.")
    var tee: TEE?

    @Option(help: "Verification time: RFC 3339 (2022-10-13T08:58:02Z) or Unix seconds. Default: now.")
    var at: String?

    @Option(help: "DCAP collateral (dcap-qvl QuoteCollateralV3 JSON) for TDX and SGX quotes.")
    var collateral: String?

    @Option(help: "The SEV-SNP VCEK or VLEK (PEM or DER), or the host's certificate table (collect's .auxblob).")
    var vcek: String?

    @Option(name: .customLong("cert-chain"), help: "AMD's ASK (or ASVK) then ARK, PEM; compared with the pins.")
    var certChain: String?

    @Option(help: "SEV-SNP product when the report does not say (version 2): Milan, Genoa or Turin.")
    var product: String?

    @Option(help: "Hex the Nitro document's nonce must equal.")
    var nonce: String?

    @Option(name: .customLong("report-data"), help: "Hex the report data must equal (zero-padded); Nitro: user_data.")
    var reportData: String?

    @Option(name: .customLong("allow-tcb-status"), help: "A DCAP TCB status to accept besides UpToDate (repeatable).")
    var allowTCBStatus: [String] = []

    @Option(name: .customLong("allow-advisory"), help: "An advisory id to accept, e.g. INTEL-SA-00615 (repeatable).")
    var allowAdvisory: [String] = []

    @Flag(name: .customLong("allow-debug"), help: "Accept debug-mode evidence.")
    var allowDebug = false

    @Flag(
        name: .customLong("allow-service-td"),
        help: "Accept a TDX 1.5 TD bound to a service TD (non-zero MRSERVICETD; pin it with --expect MRSERVICETD=...).")
    var allowServiceTD = false

    @Option(
        name: .customLong("max-age"),
        help: "Nitro: seconds the document's signed timestamp may be older than the verification time.")
    var maxAge: Int64?

    @OptionGroup var releaseCheck: AttestReleaseOptions
    var target: String? { releaseCheck.target }

    @Option(help: "A register the evidence must carry: REGISTER=HEX, e.g. PCR0=… or MEASUREMENT=… (repeatable).")
    var expect: [String] = []

    @Flag(help: "Print one JSON object per evidence file instead of text.")
    var json = false

    func validate() throws {
        guard !evidence.isEmpty else { throw ValidationError("name at least one evidence file") }
        if let at, AttestationTime.parse(at) == nil {
            throw ValidationError("--at '\(at)': expected RFC 3339 (2022-10-13T08:58:02Z) or Unix seconds")
        }
        if let product, SNPProduct(name: product) == nil {
            throw ValidationError("--product '\(product)': expected Milan, Genoa or Turin")
        }
        if allowTCBStatus.contains("Revoked") { throw ValidationError("--allow-tcb-status Revoked: never accepted") }
        if let maxAge, maxAge < 0 { throw ValidationError("--max-age \(maxAge): expected seconds, 0 or more") }
        _ = try attestationPolicy()
    }

    func attestationPolicy() throws -> AttestationPolicy {
        var p = AttestationPolicy(verificationTime: at.flatMap(AttestationTime.parse) ?? AttestationTime.now)
        p.allowedTCBStatuses.formUnion(allowTCBStatus)
        p.allowedAdvisories.formUnion(allowAdvisory)
        p.allowDebug = allowDebug
        p.allowServiceTD = allowServiceTD
        p.maxAge = maxAge
        p.expectedNonce = try nonce.map { try parseHex($0, option: "--nonce") }
        p.expectedReportData = try reportData.map { try parseHex($0, option: "--report-data") }
        p.expectedMeasurements = try expect.map { text in
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw ValidationError("--expect '\(text)': expected REGISTER=HEX, e.g. PCR0=f4d4…")
            }
            return Measurement(
                String(text[..<eq]), try parseHex(String(text[text.index(after: eq)...]), option: "--expect"))
        }
        return p
    }

    func run() throws {
        let policy = try attestationPolicy()
        let attestationRelease = try releaseCheck.load()
        let collateralBytes = try collateral.map {
            try FileInput.contents(of: $0, limit: 16 << 20, format: "collateral")
        }
        let vcekBytes = try vcek.map { try FileInput.contents(of: $0, limit: 1 << 20, format: "certificate") }
        let chainBytes = try certChain.map { try FileInput.contents(of: $0, limit: 1 << 20, format: "certificate") }
        var allVerified = true
        for path in evidence {
            do {
                var inputs = EvidenceInputs(
                    evidence: try FileInput.contents(of: path, limit: 1 << 20, format: "evidence"), name: path)
                inputs.collateral = collateralBytes
                inputs.vcek = vcekBytes
                inputs.certChain = chainBytes
                inputs.product = product
                let tee = try self.tee ?? Attestation.detect(inputs.evidence, name: path)
                let result = Attestation.verify(
                    inputs, tee: tee, policy: policy, release: attestationRelease, target: target)
                allVerified = allVerified && result.verified
                if json { Output.json(result.json(evidence: path)) } else { printText(result, path: path) }
            } catch {
                allVerified = false
                if json {
                    Output.json(
                        .object([
                            ("evidence", .string(path)), ("verified", .bool(false)), ("error", .string("\(error)")),
                        ]))
                } else {
                    print("\(path): NOT verified: \(error)")
                }
            }
        }
        if !allVerified { throw ExitCode(1) }
    }

    func printText(_ result: AttestationResult, path: String) {
        print("\(path): \(result.tee.rawValue), checked at \(AttestationTime.format(seconds: result.verificationTime))")
        let width = result.checks.map(\.id.count).max() ?? 0
        for check in result.checks {
            let id = check.id + String(repeating: " ", count: width - check.id.count)
            print("  \(check.ok ? "ok    " : "FAILED")  \(id)  \(check.detail)")
        }
        if !result.measurements.isEmpty {
            Output.table(result.measurements.map { ($0.name, Hex.encode($0.value)) })
        }
        if let status = result.tcbStatus {
            print(
                "  TCB status \(status)"
                    + (result.advisories.isEmpty ? "" : ", advisories \(result.advisories.joined(separator: ", "))"))
        }
        if result.verified {
            print("\(path): verified" + (result.release.map { ", runs \($0.name) \($0.version) (\($0.target))" } ?? ""))
        } else {
            print("\(path): NOT verified (failed: \(result.failed.joined(separator: ", ")))")
        }
    }
}

/// `attest verify`'s release check: the signed release, the policy that says who may sign it, and the
/// target to compare the evidence with.
struct AttestReleaseOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The signed release: a DSSE envelope, a Sigstore bundle (repeatable, one per signer) or a release "
                + "directory (what build writes or pull fetches: its signed documents).", valueName: "FILE|DIR"))
    var release: [String] = []

    @Option(help: "The release policy: trusted keys and threshold (with --release).")
    var policy: String?

    @Option(help: "The release target to compare with, when the release has several of the TEE's platform.")
    var target: String?

    func validate() throws {
        if !release.isEmpty, policy == nil { throw ValidationError("--release needs --policy (the trusted keys)") }
        if release.isEmpty, policy != nil { throw ValidationError("--policy is used with --release") }
        if release.isEmpty, target != nil { throw ValidationError("--target is used with --release") }
    }

    /// The release, its signatures verified against the policy; nil without --release.
    func load() throws -> AttestationRelease? {
        guard let policy else { return nil }
        let trust = try ReleasePolicy.load(path: policy)
        // A directory gives its signed documents; its reproduction attestations are set aside, as in `verify DIR`.
        let files = try release.flatMap { path in
            FileStatus.isDirectory(path) ? try ReleaseDirectory(path: path).documents : [path]
        }
        let documents = try files.map { (try FileInput.contents(of: $0, limit: 64 << 20, format: "envelope"), $0) }
        return try AttestationRelease(documents: documents, policy: trust)
    }
}
