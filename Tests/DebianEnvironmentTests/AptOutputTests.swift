import DebianEnvironment
import TestSupport
import Testing

@Suite("apt output")
struct AptOutputTests {
    @Test func printURIs() throws {
        let text = try Fixtures.text("print-uris.txt")
        let uris = try AptOutput.printURIs(text)
        #expect(uris.count == 3)
        #expect(uris[1].uri == "http://debian.mirror.example/debian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb")
        #expect(uris[1].package == "libc6")
        #expect(uris[1].size == 2_759_320)
        #expect(uris[2].uri.hasSuffix("/pool/main/s/shadow/passwd_4.13+dfsg1-1+deb12u2_amd64.deb"))
    }

    @Test(arguments: [
        ("http://x/a.deb a.deb 1 MD5Sum:00", "expected 'URI' FILE SIZE HASH"),  // no quotes
        ("'http://x/pool/a_1_amd64.deb' a_1_amd64.deb big MD5Sum:00", "the size 'big' is not a whole number of bytes"),
        ("'http://x/pool/a_1_amd64.deb' a_1_amd64.deb", "expected FILE SIZE HASH after the URI"),
        (
            "'http://x/pool/a_1_amd64.deb%zz' a_1_amd64.deb 1 MD5Sum:00",
            "the URI 'http://x/pool/a_1_amd64.deb%zz' has a bad %-escape"
        ),
        ("'http://x/pool/a.deb' a.deb 1 MD5Sum:00", "'a.deb' is not NAME_VERSION_ARCH.deb"),
        ("'http://x/pool/a_1_amd64.deb", "the URI has no closing quote"),
    ])
    func badPrintURIs(line: String, message: String) {
        let error = #expect(throws: EnvironmentError.self) { try AptOutput.printURIs(line + "\n") }
        #expect(error?.kind == .format)
        #expect(error?.message.contains("line 1: " + message) == true, "\(String(describing: error))")
    }

    @Test func stanzas() {
        let text = """
            Package: hello
            Version: 2.10-3
            Description: example
             continued line: not a field

            Package: libc6
            SHA256: ab

            """
        let stanzas = AptOutput.stanzas(text)
        #expect(stanzas.count == 2)
        #expect(stanzas[0]["version"] == "2.10-3")
        #expect(stanzas[0]["continued line"] == nil)
        #expect(stanzas[1]["sha256"] == "ab")
    }

    @Test(
        arguments: [
            ("Date: Mon, 30 Nov 2026 02:21:41 UTC", "2026-11-30T02:21:41Z"),
            ("Origin: Debian\nDate: Sat, 11 Jul 2026 10:16:37 UTC\nValid-Until: x", "2026-07-11T10:16:37Z"),
            ("Date: Sat, 1 Feb 2025 00:00:00 +0000", "2025-02-01T00:00:00Z"),
            ("Date: Sat, 1 Feb 2025 00:00:00 +0200", nil),
            ("Date: Sat, 1 Fbr 2025 00:00:00 UTC", nil),
            ("Date: Sat, 32 Feb 2025 00:00:00 UTC", nil),
            ("Origin: Debian", nil),
        ] as [(String, String?)])
    func releaseDate(text: String, expected: String?) {
        #expect(AptOutput.releaseDate(text) == expected)
    }

    @Test(
        arguments: [
            ("E: Unable to locate package pyhton3\n", "pyhton3"),
            ("W: x\nE: Package 'python' has no installation candidate\n", "python"),
            ("E: Couldn't find any package by glob 'foo*'\n", "foo*"),
            ("E: Unable to correct problems, you have held broken packages.\n", nil),
        ] as [(String, String?)])
    func missingPackage(text: String, expected: String?) {
        #expect(AptOutput.missingPackage(text) == expected)
    }

    @Test func unmetDependency() {
        let text = """
            The following packages have unmet dependencies:
             hello : Depends: libc6 (>= 2.34) but it is not installable
            E: Unable to correct problems, you have held broken packages.
            """
        let unmet = AptOutput.unmetDependency(text)
        #expect(unmet?.package == "hello")
        #expect(unmet?.needs == "libc6")
        #expect(AptOutput.unmetDependency("E: something else") == nil)
    }
}
