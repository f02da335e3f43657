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
        "http://x/a.deb a.deb 1 MD5Sum:00",  // no quotes
        "'http://x/pool/a_1_amd64.deb' a_1_amd64.deb big MD5Sum:00",  // size not a number
        "'http://x/pool/a_1_amd64.deb%zz' a_1_amd64.deb 1 MD5Sum:00",  // bad escape
        "'http://x/pool/a.deb' a.deb 1 MD5Sum:00",  // not NAME_VERSION_ARCH.deb
        "'http://x/pool/a_1_amd64.deb",  // unclosed quote
    ])
    func badPrintURIs(line: String) {
        #expect(throws: EnvironmentError.self) { try AptOutput.printURIs(line + "\n") }
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

@Suite("apt sources")
struct AptSourcesTests {
    @Test func deb822() throws {
        let text = """
            Types: deb deb-src
            # a comment
            URIs: http://debian.mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main contrib
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://debian.mirror.example/debian-security/
            Suites: bookworm-security
            Components: main
            Signed-By:
             -----BEGIN PGP PUBLIC KEY BLOCK-----
             .
             abc
             -----END PGP PUBLIC KEY BLOCK-----

            Types: deb
            URIs: http://mirror.example/debian
            Suites: bookworm
            Enabled: no

            Types: deb-src
            URIs: http://debian.mirror.example/debian
            Suites: trixie
            """
        let entries = try AptSources.parseDeb822(text, file: "d.sources")
        #expect(entries.map(\.suite) == ["bookworm", "bookworm-updates", "bookworm-security"])
        #expect(entries[0].components == ["main", "contrib"])
        #expect(entries[0].signedBy == "/usr/share/keyrings/debian-archive-keyring.gpg")
        #expect(entries[2].signedBy?.hasPrefix("\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc") == true)
        #expect(entries[2].archive == "debian-security")
        #expect(entries[2].base == "http://debian.mirror.example/debian-security")
    }

    @Test(arguments: [
        "URIs: http://x/debian\nSuites: bookworm\n",  // no Types
        "Types: deb\nSuites: bookworm\n",  // no URIs
        "Types: deb\nURIs http://x\n",  // no colon
        " continued\n",  // continuation outside a field
    ])
    func badDeb822(text: String) {
        #expect(throws: EnvironmentError.self) { try AptSources.parseDeb822(text, file: "d.sources") }
    }

    @Test func oneLine() throws {
        let text = """
            # comment
            deb http://debian.mirror.example/debian bookworm main
            deb-src http://debian.mirror.example/debian bookworm main
            deb [arch=amd64 signed-by=/k.gpg] http://debian.mirror.example/debian-security bookworm-security main # tail
            deb [ trusted=yes ] http://local/repo trixie main

            """
        let entries = try AptSources.parseOneLine(text, file: "s.list")
        #expect(entries.count == 3)
        #expect(entries[1].signedBy == "/k.gpg")
        #expect(entries[1].suite == "bookworm-security")
        #expect(entries[2].trusted)
        let sources = AptSources(entries: entries)
        #expect(sources.entries(forSuite: "bookworm").map(\.suite) == ["bookworm", "bookworm-security"])
        #expect(sources.entries(forSuite: "trixie").map(\.uri) == ["http://local/repo"])
        #expect(sources.entries(forSuite: "bullseye").isEmpty)
        #expect(sources.baseURI(forArchive: "debian-security") == "http://debian.mirror.example/debian-security")
        #expect(sources.baseURI(forArchive: "ubuntu") == nil)
    }

    @Test(arguments: ["deb http://x", "deb [arch=amd64 http://x bookworm main", "rpm http://x a b"])
    func badOneLine(text: String) {
        #expect(throws: EnvironmentError.self) { try AptSources.parseOneLine(text, file: "s.list") }
    }

    @Test func overrideFileAndFormatDetection() throws {
        let directory = try TestDirectory()
        let file = try directory.write(
            "mirror.conf", "Types: deb\nURIs: http://m/debian\nSuites: bookworm\nComponents: main\n")
        let sources = try AptSources.host(environment: ["ENCLAVEKIT_APT_SOURCES": file])
        #expect(sources.entries.map(\.uri) == ["http://m/debian"])
        #expect(sources.files == [file])
        let etc = try directory.directory("etc/apt/sources.list.d")
        try directory.write("etc/apt/sources.list", "deb http://a/debian bookworm main\n")
        try directory.write(
            "etc/apt/sources.list.d/b.sources",
            "Types: deb\nURIs: http://b/debian-security\nSuites: bookworm-security\n")
        try directory.write("etc/apt/sources.list.d/c.list.disabled", "deb http://c/debian bookworm main\n")
        let host = try AptSources.host(environment: [:], root: directory.path + "/etc/apt")
        #expect(host.entries.map(\.uri) == ["http://a/debian", "http://b/debian-security"])
        #expect(host.files.count == 2 && host.files[1].hasPrefix(etc))
    }
}
