import ArgumentParser
import EnclaveCore
import Measure
import Nitro

struct EIFDescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Describe an EIF as nitro-cli describe-eif does, recomputing every value from the file.",
        discussion: """
            --json prints nitro-cli describe-eif's JSON (EifVersion, Measurements, IsSigned, \
            SigningCertificate, CheckCRC, SignatureCheck, ImageName, ImageVersion, Metadata), plus \
            ArchitectureType. Unlike nitro-cli, the file is located through its header table, as the \
            hypervisor does, and fully validated first, so it is safe on untrusted files.

            Exit status 1 when the CRC-32 does not match or the signature does not verify, in text and JSON \
            mode alike (--json still prints the description, with "CheckCRC": false or "SignatureCheck": \
            false, and the error on stderr); an EIF that cannot be read at all gives {"error": ..., "file": \
            ..., "offset": ...} under --json.

            Examples:
              enclavekit eif describe node.eif
              enclavekit eif describe node.eif --json | jq -r .Measurements.PCR0
            """)

    @Argument(help: "The EIF file.")
    var file: String

    @Flag(help: "Print nitro-cli's JSON.")
    var json = false

    func run() throws {
        let image = try EIFImage(file: FileInput(path: file))
        let bar = ProgressBar(label: "reading \(file)", total: image.file.size)
        let d = try EIFDescription(image: image, progress: bar)
        bar.finish()
        let failure = d.problems.isEmpty ? nil : ReportedFailure("\(file): " + d.problems.joined(separator: "; "))
        if json {
            Output.json(d.json)
            if let failure { throw failure }
            return
        }
        print("\(file): EIF v\(d.version) (\(d.architecture.rawValue)), \(image.file.size) bytes")
        var rows = EIFFormat.rows(d.measurements)
        rows.append(("CRC", d.crcValid ? "ok (0x\(String(image.header.crc32, radix: 16)))" : "MISMATCH"))
        if let s = d.signature {
            rows.append(("Signed", s.check.signatureValid ? "yes, signature valid" : "yes, signature INVALID"))
            rows.append(("Signed PCR0", s.check.payloadMatchesPCR0 ? "matches" : "DOES NOT MATCH this image"))
            rows.append(("Issuer", s.issuer.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")))
            rows.append(("Valid", "\(s.notBefore) to \(s.notAfter)"))
        } else {
            rows.append(("Signed", "no"))
        }
        if let meta = d.metadata {
            rows.append(
                ("Image", "\(meta["ImageName"]?.stringValue ?? "?") \(meta["ImageVersion"]?.stringValue ?? "")"))
            if let build = meta["BuildMetadata"] {
                rows.append(
                    (
                        "Built",
                        "\(build["BuildTime"]?.stringValue ?? "?") by \(build["BuildTool"]?.stringValue ?? "?") \(build["BuildToolVersion"]?.stringValue ?? "")"
                    ))
            }
        }
        rows.append(
            (
                "Layout",
                d.isContiguous
                    ? "contiguous (nitro-cli can read it)" : "sections not back to back: nitro-cli's reader would fail"
            ))
        if d.trailingBytes > 0 { rows.append(("Trailing", "\(d.trailingBytes) bytes after the last section")) }
        Output.table(rows)
        print("  Sections:")
        for s in d.sections {
            print("    \(s.index)  \(s.type.description.padding(9))  offset \(s.headerOffset)  size \(s.size)")
        }
        if let failure { throw failure }
    }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
