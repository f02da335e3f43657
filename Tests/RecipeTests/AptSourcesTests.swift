import Recipe
import TestSupport
import Testing

/// The one apt sources reader (`AptSources`), used by environments and by debian-source inputs.
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

    /// Good one-line entries and what they give (uri, suite, components, signed-by, trusted); `nil` when the
    /// line gives no entry (a comment, a blank line, a deb-src entry).
    @Test(
        arguments: [
            (
                "deb http://d/debian bookworm main",
                AptSources.Entry(uri: "http://d/debian", suite: "bookworm", components: ["main"])
            ),
            (
                "deb [arch=amd64 signed-by=/k.gpg] http://d/debian-security bookworm-security main contrib # tail",
                AptSources.Entry(
                    uri: "http://d/debian-security", suite: "bookworm-security", components: ["main", "contrib"],
                    signedBy: "/k.gpg")
            ),
            (
                "deb [ trusted=yes ] http://local/repo trixie main",
                AptSources.Entry(uri: "http://local/repo", suite: "trixie", components: ["main"], trusted: true)
            ),
            ("deb\thttp://flat/repo ./\r", AptSources.Entry(uri: "http://flat/repo", suite: "./", components: [])),
            ("deb-src http://d/debian bookworm main", nil),
            ("# deb http://d/debian bookworm main", nil),
            ("   ", nil),
        ] as [(String, AptSources.Entry?)])
    func goodOneLine(line: String, expected: AptSources.Entry?) throws {
        let entries = try AptSources.parseOneLine(line + "\n", file: "s.list")
        #expect(entries == (expected.map { [$0] } ?? []))
    }

    /// Hostile one-line entries: each gives one error that names the file and line and says what is wrong.
    @Test(arguments: [
        ("deb http://x", "s.list:2: expected 'deb URI SUITE COMPONENT…'"),
        ("deb [arch=amd64 http://x bookworm main", "s.list:2: the options '[' are not closed by ']'"),
        ("rpm http://x a b", "s.list:2: expected 'deb URI SUITE COMPONENT…', got 'rpm'"),
        ("deb http://x bookworm", "s.list:2: the suite 'bookworm' has no components (e.g. main)"),
        ("deb http://x ./ main", "s.list:2: the suite './' is an exact path and takes no components"),
        ("deb [signed-by] http://x bookworm main", "s.list:2: the option 'signed-by' is not 'name=value'"),
        ("deb-src http://x", "s.list:2: expected 'deb-src URI SUITE COMPONENT…'"),
    ])
    func badOneLine(line: String, message: String) {
        let error = #expect(throws: RecipeError.self) {
            try AptSources.parseOneLine("# first\n" + line + "\ndeb http://ok/debian bookworm main\n", file: "s.list")
        }
        #expect(error?.description == message)
        #expect(error?.kind == .badValue)
    }

    /// Hostile deb822 stanzas: one error each, naming the line of the stanza or of the bad line.
    @Test(arguments: [
        ("URIs: http://x/debian\nSuites: bookworm\n", "d.sources:2: a stanza without a Types field"),
        ("Types: deb\nSuites: bookworm\n", "d.sources:2: a deb stanza without URIs or Suites"),
        ("Types: deb\nURIs http://x\n", "d.sources:3: expected 'Field: value'"),
        (" continued\n", "d.sources:2: a continuation line outside a field"),
        (
            "Types: deb\nURIs: http://x\nSuites: bookworm\n",
            "d.sources:2: the suite 'bookworm' has no components (e.g. main)"
        ),
        ("Types: deb\nURIs: http://x\nURIs: http://y\n", "d.sources:4: field 'URIs' appears twice"),
    ])
    func badDeb822(text: String, message: String) {
        let error = #expect(throws: RecipeError.self) {
            try AptSources.parseDeb822("# comment\n" + text, file: "d.sources")
        }
        #expect(error?.description == message)
    }

    @Test func suitesAndArchives() throws {
        let entries = try AptSources.parseOneLine(
            """
            deb http://debian.mirror.example/debian bookworm main
            deb [signed-by=/k.gpg] http://debian.mirror.example/debian-security bookworm-security main
            deb http://debian.mirror.example/debian bookworm main
            deb http://local/repo trixie main
            """, file: "s.list")
        let sources = AptSources(entries: entries)
        #expect(sources.entries(forSuite: "bookworm").map(\.suite) == ["bookworm", "bookworm-security"])
        #expect(sources.entries(forSuite: "trixie").map(\.uri) == ["http://local/repo"])
        #expect(sources.entries(forSuite: "bullseye").isEmpty)
        #expect(sources.baseURI(forArchive: "debian-security") == "http://debian.mirror.example/debian-security")
        #expect(sources.baseURI(forArchive: "ubuntu") == nil)
        #expect(
            AptSources.deb822(Array(entries.prefix(2)), type: "deb-src") == """
                Types: deb-src
                URIs: http://debian.mirror.example/debian
                Suites: bookworm
                Components: main

                Types: deb-src
                URIs: http://debian.mirror.example/debian-security
                Suites: bookworm-security
                Components: main
                Signed-By: /k.gpg


                """)
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
            "Types: deb\nURIs: http://b/debian-security\nSuites: bookworm-security\nComponents: main\n")
        try directory.write("etc/apt/sources.list.d/c.list.disabled", "deb http://c/debian bookworm main\n")
        let host = try AptSources.host(environment: [:], root: directory.path + "/etc/apt")
        #expect(host.entries.map(\.uri) == ["http://a/debian", "http://b/debian-security"])
        #expect(host.files.count == 2 && host.files[1].hasPrefix(etc))
        let missing = #expect(throws: RecipeError.self) {
            try AptSources.host(environment: ["ENCLAVEKIT_APT_SOURCES": directory.path + "/absent.list"])
        }
        #expect(missing?.kind == .io)
    }
}
