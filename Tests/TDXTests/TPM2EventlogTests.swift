import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import TDX

/// `tdx replay` checked against an independent TCG event-log implementation: `tpm2_eventlog` from
/// Debian's tpm2-tools (installed by `.ci/setup`) parses the same crypto-agile log and replays its
/// SHA-384 bank, whose registers 1-3 are RTMR0-2 in a CCEL (the MR index is the RTMR index + 1).
///
/// The events are the ones `TDXMeasurer` predicts for a real boot (Debian's OVMF, a kernel, an initrd
/// and a cmdline), logged as EV_IPL records: tpm2_eventlog checks the payload layout of firmware,
/// variable and tagged events, which these records do not carry. This checks the log parser and the
/// extend arithmetic, not the digest of each event.
@Suite struct TPM2EventlogTests {
    static let debianOVMF = "/usr/share/ovmf/OVMF.fd"

    /// tpm2_eventlog's replayed SHA-384 registers: the `sha384:` list under `pcrs:` in its YAML output.
    static func tpm2Registers(logAt path: URL) throws -> [Int: [UInt8]] {
        let result = try ToolRunner.run("tpm2_eventlog", [path.path])
        let text = result.stdout
        try #require(result.status == 0, "tpm2_eventlog (apt-get install tpm2-tools) failed:\n\(text)\(result.stderr)")

        var registers: [Int: [UInt8]] = [:]
        var inPCRs = false
        var inSHA384 = false
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("pcrs:") { inPCRs = true; continue }
            guard inPCRs else { continue }
            if trimmed.hasSuffix(":") { inSHA384 = trimmed == "sha384:"; continue }
            guard inSHA384 else { continue }
            let parts = trimmed.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let index = Int(parts[0]), parts[1].hasPrefix("0x") else { continue }
            registers[index] = Hex.decode(String(parts[1].dropFirst(2)))
        }
        return registers
    }

    @Test func tpm2EventlogReplaysTheLogToTheMeasuredRTMRs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("enclavekit-tdx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let initrd = dir.appendingPathComponent("initrd.img")
        try Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: initrd)
        var inputs = TDXMeasureInputs(firmware: Self.debianOVMF)
        inputs.kernel = Fixtures.path("pe64_kernel.efi")
        inputs.initrd = initrd.path
        inputs.cmdline = "console=ttyS0 root=/dev/vda"
        inputs.stubMeasures = .yes
        let measured = try TDXMeasurer.measure(inputs)
        #expect(Set(measured.events.map(\.rtmr)) == [0, 1, 2])

        // No EV_NO_ACTION record here: tpm2-tools 5.4 (Debian 12) extends those too, against the TCG
        // PC Client spec (tpm2-tools issue 3224, fixed after 5.5); EventLogTests covers that we skip them.
        let records = measured.events.map { (UInt32($0.rtmr + 1), UInt32(0xd), $0.digest, Array($0.name.utf8)) }
        let log = EventLogTests.writeLog(records, filler: 0)
        let logPath = dir.appendingPathComponent("ccel.bin")
        try Data(log).write(to: logPath)

        let ours = RTMR.replay(try TDXEventLog(bytes: log).events)
        let theirs = try Self.tpm2Registers(logAt: logPath)
        #expect(theirs.keys.sorted() == [1, 2, 3])
        for rtmr in 0..<3 {
            #expect(theirs[rtmr + 1] == ours[rtmr], "RTMR\(rtmr): tpm2_eventlog and tdx replay")
        }
        // RTMR0 has no value without the VMM's ACPI tables; RTMR1 and RTMR2 are complete.
        #expect(measured.rtmrs[0] == nil)
        #expect(ours[1] == measured.rtmrs[1] && ours[2] == measured.rtmrs[2])
    }
}
