import EnclaveCore
import Foundation
import TestSupport
import Testing

@testable import TDX

/// CCEL / TCG2 event-log replay: a log written here in the TCG PC Client layout (header with the
/// Spec ID event, then TCG_PCR_EVENT2 records, then 0xFF filler as in the CCEL area) replays to the
/// RTMRs that `TDXMeasurer` predicts, event by event.
@Suite struct EventLogTests {
    /// Writes a crypto-agile log with SHA-256 and SHA-384 digests (SHA-256 first, as edk2 orders them).
    static func writeLog(_ events: [(UInt32, UInt32, [UInt8], [UInt8])], filler: Int = 64) -> [UInt8] {
        var w = ByteWriter()
        w.appendU32LE(0)
        w.appendU32LE(3)  // EV_NO_ACTION
        w.appendZeros(20)
        var spec = ByteWriter()
        spec.append(Array("Spec ID Event03".utf8) + [0])
        spec.appendU32LE(0)  // platform class
        spec.append([0, 2, 0, 2])  // minor, major, errata, uintn size
        spec.appendU32LE(2)
        spec.appendU16LE(0x000b)
        spec.appendU16LE(32)
        spec.appendU16LE(0x000c)
        spec.appendU16LE(48)
        spec.appendU8(0)
        w.appendU32LE(UInt32(spec.count))
        w.append(spec.bytes)
        for (mr, type, digest, data) in events {
            w.appendU32LE(mr)
            w.appendU32LE(type)
            w.appendU32LE(2)
            w.appendU16LE(0x000b)
            w.append(Digest.sha256(digest))
            w.appendU16LE(0x000c)
            w.append(digest)
            w.appendU32LE(UInt32(data.count))
            w.append(data)
        }
        w.append([UInt8](repeating: 0xff, count: filler))
        return w.bytes
    }

    @Test func replaysToTheMeasuredRTMRs() throws {
        var inputs = TDXMeasureInputs(firmware: "/usr/share/ovmf/OVMF.fd")
        inputs.kernel = Fixtures.path("pe64_kernel.efi")
        let measured = try TDXMeasurer.measure(inputs)
        var records = measured.events.map { (UInt32($0.rtmr + 1), $0.type.raw, $0.digest, Array($0.name.utf8)) }
        // An EV_NO_ACTION record in the middle is logged but not extended.
        records.insert((1, 3, [UInt8](repeating: 0xaa, count: 48), Array("StartupLocality".utf8)), at: 2)
        let log = try TDXEventLog(bytes: Self.writeLog(records))
        #expect(log.entries.count == records.count)
        #expect(log.events.map(\.digest) == measured.events.map(\.digest))
        let replayed = RTMR.replay(log.events)
        #expect(replayed[1] == measured.rtmrs[1])
        #expect(replayed[2] == measured.rtmrs[2])
        #expect(log.entries[2].summary == "\"StartupLocality\"")
    }

    @Test func describesVariableAndTaggedEvents() throws {
        let variable = EFIVariableData.encode(
            vendor: EFIVariableData.efiGlobalVariable, name: "BootOrder", data: [0, 0])
        var tagged = ByteWriter()
        tagged.appendU32LE(0x8f3b_22ec)
        tagged.appendU32LE(26)
        tagged.append(Array("LOADED_IMAGE::LoadOptions".utf8) + [0])
        let log = try TDXEventLog(
            bytes: Self.writeLog([
                (1, 0x8000_0002, Digest.sha384([0, 0]), variable),
                (3, 0x6, Digest.sha384([1]), tagged.bytes),
            ]))
        #expect(log.entries.map(\.summary) == ["variable BootOrder", "LOADED_IMAGE::LoadOptions"])
        #expect(log.events.map(\.rtmr) == [0, 2])
    }

    static let good = writeLog([(2, 0x8000_0007, Digest.sha384([1]), [0x41])], filler: 0)

    static let badLogs: [(String, [UInt8], FormatError.Kind)] = [
        ("empty", [], .truncated),
        ("first event not EV_NO_ACTION", [0, 0, 0, 0, 4] + Array(good.dropFirst(5)), .badMagic),
        ("no Spec ID signature", Array(good.prefix(32)) + [0x58] + Array(good.dropFirst(33)), .badMagic),
        ("truncated event", Array(good.dropLast(10)), .truncated),
        (
            "too many digests",
            Array(good.prefix(good.count - 93)) + [9, 0, 0, 0] + Array(good.suffix(89)), .badValue
        ),
    ]

    @Test(arguments: 0..<badLogs.count)
    func badLogsAreRejected(index: Int) {
        let (name, bytes, kind) = Self.badLogs[index]
        let error = #expect(throws: FormatError.self, "\(name)") { try TDXEventLog(bytes: bytes) }
        #expect(error?.kind == kind, "\(name)")
    }

    @Test func logWithoutSHA384IsRejected() {
        var bytes = Self.good
        // The second algorithm ID (SHA-384, 0x000c) in the Spec ID event → SHA-512 (0x000d).
        let at = 32 + 16 + 4 + 4 + 4 + 4
        #expect(bytes[at] == 0x0c)
        bytes[at] = 0x0d
        let error = #expect(throws: FormatError.self) { try TDXEventLog(bytes: bytes) }
        #expect(error?.kind == .missing)
    }
}

@Suite struct EventComparisonTests {
    static func event(_ rtmr: Int, _ byte: UInt8) -> TDXEvent {
        TDXEvent(rtmr: rtmr, type: .efiAction, name: "e\(byte)", digest: [UInt8](repeating: byte, count: 48))
    }

    @Test func comparesRegisterByRegister() {
        let expected = [Self.event(0, 1), Self.event(0, 2), Self.event(1, 3)]
        let actual = [Self.event(0, 1), Self.event(1, 9), Self.event(0, 2), Self.event(1, 4)]
        let rows = TDXEventComparison.compare(expected: expected, actual: actual)
        #expect(rows.map(\.status) == [.same, .same, .differs, .extra])
        #expect(rows.map(\.rtmr) == [0, 0, 1, 1])
        #expect(rows.map(\.index) == [1, 2, 1, 2])
        let missing = TDXEventComparison.compare(expected: expected, actual: [Self.event(0, 1)])
        #expect(missing.map(\.status) == [.same, .missing, .missing])
    }

    @Test func parsesMeasureEventLines() throws {
        let digest = String(repeating: "0f", count: 48)
        let text = """
            mrtd   \(digest)
            events:
              rtmr0[1]  \(digest)  EV_PLATFORM_CONFIG_FLAGS  TD HOB (2 GiB of RAM)
              rtmr2[10] \(digest)  EV_EVENT_TAG  Linux initrd (5 bytes)
            """
        let events = try TDXEventComparison.parseEventLines(text)
        #expect(events.map(\.rtmr) == [0, 2])
        #expect(events[0].type == .platformConfigFlags && events[0].name == "TD HOB (2 GiB of RAM)")
        #expect(events[1].digest == [UInt8](repeating: 0x0f, count: 48))
        let error = #expect(throws: FormatError.self) {
            try TDXEventComparison.parseEventLines("  rtmr1[1]  abcd  EV_X  y")
        }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("line 1: expected") == true)
    }
}
