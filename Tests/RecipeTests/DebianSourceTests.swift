import Foundation
import TestSupport
import Testing

@testable import Recipe

/// debian-source inputs: the recipe checks, the `.dsc` parser, fetching through a stand-in apt-get with a
/// private state, and unpacking a small source package (made by `dpkgSourcePackage`) with dpkg-source.
@Suite("Debian source packages")
struct DebianSourceTests {
    static let header = "recipe = 1\nname = \"t\"\nversion = \"1\"\nsource-date-epoch = 0\n"

    static func parse(_ input: String, in tmp: TestDirectory) throws -> Recipe {
        let path = try tmp.write("recipe.toml", header + input)
        return try Recipe.load(path: path)
    }

    @Test func recipeChecks() throws {
        let tmp = try TestDirectory()
        let recipe = try Self.parse(
            "[inputs.edk2]\nkind = \"debian-source\"\nsource = \"edk2=2022.11-6+deb12u2\"\nsuite = \"bookworm\"\n",
            in: tmp)
        let edk2 = try #require(recipe.input(named: "edk2"))
        #expect(edk2.kind == .debianSource)
        #expect(edk2.unpack == .source)
        #expect(edk2.suite == "bookworm")
        #expect(edk2.fileName == "edk2_2022.11-6+deb12u2.dsc")
        #expect(DebianSource.dscName("dpkg=1:1.21.22") == "dpkg_1.21.22.dsc")

        let bad: [(String, String)] = [
            ("kind = \"debian-source\"\nsource = \"edk2=2022.11\"\n", "missing 'suite'"),
            ("kind = \"debian-source\"\nsource = \"edk2\"\nsuite = \"bookworm\"\n", "is not a Debian source package"),
            (
                "kind = \"debian-source\"\nsource = \"edk2=1 2\"\nsuite = \"bookworm\"\n",
                "is not a Debian source package"
            ),
            ("kind = \"debian-source\"\nsource = \"edk2=1\"\nsuite = \"Book worm\"\n", "is not a Debian release name"),
            ("kind = \"debian-source\"\nsource = \"edk2=1\"\nsuite = \"bookworm\"\nunpack = \"tar\"\n", "dpkg-source"),
            ("kind = \"debian\"\nsource = \"ovmf=1\"\nsuite = \"bookworm\"\n", "is only for debian-source inputs"),
            ("kind = \"url\"\nsource = \"https://example.org/x.tar\"\nunpack = \"source\"\n", "only for debian-source"),
        ]
        for (body, expected) in bad {
            let error = #expect(throws: RecipeError.self) { try Self.parse("[inputs.x]\n" + body, in: tmp) }
            #expect(error?.description.contains(expected) == true, "\(body): \(error?.description ?? "")")
        }
    }

    static let orig = "64257dd8a2778c969b8a869cd3b6eda2db2a346bfcf24dc729859745968f1fd6"
    static let debian = "a1d848115ae9b140e64d3ab34f7c08210b665bee473e3242a6801c163678780e"

    /// The shape of Debian's edk2 .dsc (clear-signed; the signature block is not checked here).
    static func signedDSC(checksums: String) -> String {
        """
        -----BEGIN PGP SIGNED MESSAGE-----
        Hash: SHA512

        Format: 3.0 (quilt)
        Source: edk2
        Version: 2022.11-6+deb12u2
        Checksums-Sha256:
        \(checksums)
        Files:
         5796c83c4624ff00c9c8703cf5424827 16710140 edk2_2022.11.orig.tar.xz

        -----BEGIN PGP SIGNATURE-----

        iIcEARYKAC8WIQQoGlxLiiPDxHQh9i5UW4ZA9GI6WAUCZ83KfxEc
        -----END PGP SIGNATURE-----

        """
    }

    @Test func dscParser() throws {
        let good = Self.signedDSC(
            checksums: " \(Self.orig) 16710140 edk2_2022.11.orig.tar.xz\n \(Self.debian) 77616 "
                + "edk2_2022.11-6+deb12u2.debian.tar.xz")
        let control = try DebianSource.control(ofDSC: Array(good.utf8), name: "edk2.dsc")
        #expect(control.source == "edk2")
        #expect(control.version == "2022.11-6+deb12u2")
        #expect(control.format == "3.0 (quilt)")
        #expect(
            control.files == [
                .init(name: "edk2_2022.11.orig.tar.xz", size: 16_710_140, sha256: Self.orig),
                .init(name: "edk2_2022.11-6+deb12u2.debian.tar.xz", size: 77616, sha256: Self.debian),
            ])

        let cases: [(String, String)] = [
            (Self.signedDSC(checksums: " \(Self.orig) 1 ../escape.tar.xz"), "edk2.dsc:8: Checksums-Sha256: '../escape"),
            (
                Self.signedDSC(checksums: " \(Self.orig) 1 a.tar\n \(Self.orig) 2 a.tar"),
                "edk2.dsc:9: Checksums-Sha256: 'a.tar' appears twice"
            ),
            (Self.signedDSC(checksums: " ABC 1 a.tar"), "edk2.dsc:8: Checksums-Sha256: expected 'SHA256 SIZE NAME'"),
            (Self.signedDSC(checksums: " \(Self.orig) -1 a.tar"), "expected 'SHA256 SIZE NAME'"),
            ("Format: 3.0 (quilt)\nSource: edk2\nVersion: 1\n", "has no Checksums-Sha256 field"),
            ("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSource: x\n", "has no signature block"),
            ("Source: a\nSource: b\n", "edk2.dsc:2: field 'Source' appears twice"),
            ("Source edk2\n", "edk2.dsc:1: expected 'Field: value'"),
        ]
        for (text, expected) in cases {
            let error = #expect(throws: RecipeError.self) {
                try DebianSource.control(ofDSC: Array(text.utf8), name: "edk2.dsc")
            }
            #expect(error?.description.contains(expected) == true, "\(error?.description ?? "no error")")
        }
    }

    @Test func sourcesBecomeDebSrcForTheSuiteOnly() throws {
        let tmp = try TestDirectory()
        let deb822 = try tmp.write(
            "debian.sources",
            """
            Types: deb
            URIs: http://mirror.invalid/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: https://vendor.invalid/apt
            Suites: nodistro
            Components: main

            """)
        let text = try DebianSource.sourceStanzas(suite: "bookworm", environment: ["ENCLAVEKIT_APT_SOURCES": deb822])
        #expect(
            text == """
                Types: deb-src
                URIs: http://mirror.invalid/debian
                Suites: bookworm
                Components: main
                Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

                Types: deb-src
                URIs: http://mirror.invalid/debian
                Suites: bookworm-updates
                Components: main
                Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg


                """)
        let oneLine = try tmp.write(
            "old.list",
            "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.invalid/debian-security bookworm-security main\n"
        )
        let security = try DebianSource.sourceStanzas(
            suite: "bookworm", environment: ["ENCLAVEKIT_APT_SOURCES": oneLine])
        #expect(security.contains("URIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n"))
        #expect(security.contains("Signed-By: /k.gpg\n"))
        let error = #expect(throws: RecipeError.self) {
            try DebianSource.sourceStanzas(suite: "trixie", environment: ["ENCLAVEKIT_APT_SOURCES": deb822])
        }
        #expect(error?.description.contains("apt has no source for trixie") == true)
    }

    /// Makes `pkg_1.0-1.dsc` with dpkg-source -b: an upstream tarball holding `hello.txt` and a Debian
    /// patch that changes it. Returns the directory that holds the three files.
    static func dpkgSourcePackage(in tmp: TestDirectory) throws -> String {
        let root = try tmp.directory("make")
        try tmp.write("make/pkg-1.0/hello.txt", "hello upstream\n")
        _ = try runProgram("tar", ["-C", root, "-czf", root + "/pkg_1.0.orig.tar.gz", "pkg-1.0"])
        try tmp.write("make/pkg-1.0/debian/source/format", "3.0 (quilt)\n")
        try tmp.write(
            "make/pkg-1.0/debian/changelog",
            "pkg (1.0-1) unstable; urgency=medium\n\n  * Test.\n\n -- T <t@example.org>  Thu, 01 Jan 2026 00:00:00 +0000\n"
        )
        try tmp.write(
            "make/pkg-1.0/debian/control",
            "Source: pkg\nMaintainer: T <t@example.org>\n\nPackage: pkg\nArchitecture: all\nDescription: test\n test\n")
        try tmp.write("make/pkg-1.0/debian/patches/series", "fix.patch\n")
        try tmp.write(
            "make/pkg-1.0/debian/patches/fix.patch",
            "--- a/hello.txt\n+++ b/hello.txt\n@@ -1 +1 @@\n-hello upstream\n+hello debian\n")
        let result = try ToolRunner.run("dpkg-source", ["-b", "pkg-1.0"], in: root)
        #expect(result.status == 0, "dpkg-source -b (dpkg-dev) must be installed: \(result.stderr)")
        return root
    }

    /// A stand-in for apt-get: `update` records its arguments and the private sources file; `source`
    /// copies the prepared files into its working directory.
    static func fakeAptGet(in tmp: TestDirectory) throws -> String {
        try tmp.write(
            "bin/apt-get",
            """
            #!/bin/sh
            for a in "$@"; do case "$a" in Dir::Etc::SourceParts=*) parts="${a#*=}";; esac; done
            case " $* " in
              *" update "*) echo "$@" > "$FAKE_LOG"; cat "$parts"/*.sources > "$FAKE_LOG.sources" ;;
              *" source "*) echo "$@" >> "$FAKE_LOG"; cp "$FAKE_FILES"/pkg_1.0* . ;;
            esac
            """, mode: 0o755)
    }

    @Test func fetchVerifyAndUnpack() async throws {
        let tmp = try TestDirectory()
        let made = try Self.dpkgSourcePackage(in: tmp)
        let served = try tmp.directory("served")
        for name in ["pkg_1.0.orig.tar.gz", "pkg_1.0-1.debian.tar.xz", "pkg_1.0-1.dsc"] {
            try FileManager.default.copyItem(atPath: made + "/" + name, toPath: served + "/" + name)
        }
        let sources = try tmp.write(
            "debian.sources", "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\nComponents: main\n")
        let recipe = try Self.parse(
            "[inputs.pkg]\nkind = \"debian-source\"\nsource = \"pkg=1.0-1\"\nsuite = \"bookworm\"\n", in: tmp)
        let input = try #require(recipe.input(named: "pkg"))
        let cache = InputCache(root: tmp.path + "/cache")
        var resolver = InputResolver(cache: cache, recipe: recipe)
        resolver.aptGet = try Self.fakeAptGet(in: tmp)
        resolver.environment = [
            "FAKE_LOG": tmp.path + "/log", "FAKE_FILES": served, "ENCLAVEKIT_APT_SOURCES": sources,
        ]

        let resolved = try await resolver.resolve(input, pin: nil, fetchUnpinned: true)
        #expect(resolved.sha256 == (try sha256sum(served + "/pkg_1.0-1.dsc")))
        #expect(resolved.origin == "apt-get source pkg=1.0-1")
        #expect(resolved.companions?.keys.sorted() == ["pkg_1.0-1.debian.tar.xz", "pkg_1.0.orig.tar.gz"])
        let log = try String(contentsOfFile: tmp.path + "/log", encoding: .utf8)
        // A private apt state: the host's lists, cache and status are never used.
        #expect(log.contains("-o Dir::State=\(cache.root)/tmp/fetch-"))
        #expect(log.contains("source --download-only --only-source pkg=1.0-1"))
        #expect(
            try String(contentsOfFile: tmp.path + "/log.sources", encoding: .utf8)
                == "Types: deb-src\nURIs: http://mirror.invalid/debian\nSuites: bookworm\nComponents: main\n\n")

        // Build mode: the pin finds the .dsc and its files in the cache, without apt.
        try FileManager.default.removeItem(atPath: tmp.path + "/log")
        let again = try await resolver.resolve(input, pin: resolved.sha256)
        #expect(again == resolved)
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/log"))

        // Unpacked as dpkg-source -x does: the Debian patch is applied.
        let out = tmp.path + "/inputs/pkg"
        try Unpacker.unpack(resolved, into: out)
        #expect(try String(contentsOfFile: out + "/hello.txt", encoding: .utf8) == "hello debian\n")
        #expect(FileManager.default.fileExists(atPath: out + "/debian/patches/series"))

        // A companion that changed in the cache is refused before dpkg-source runs.
        let orig = try #require(resolved.companions?["pkg_1.0.orig.tar.gz"])
        var tampered = resolved
        let fake = try tmp.write("fake.orig.tar.gz", "not the tarball\n")
        tampered.companions?["pkg_1.0.orig.tar.gz"] = fake
        let unpackError = #expect(throws: RecipeError.self) {
            try Unpacker.unpack(tampered, into: tmp.path + "/inputs/other")
        }
        #expect(unpackError?.kind == .pinMismatch)
        #expect(unpackError?.description.contains("pkg_1.0.orig.tar.gz has 16 bytes with sha256") == true)
        #expect(FileManager.default.fileExists(atPath: orig))
    }

    /// dpkg-source runs and fails (a Debian tarball that is not xz, listed with its own sha256 so that the
    /// pin checks pass): the error names the .dsc and the exit status and ends with dpkg-source's standard
    /// error, and the half-made directory is removed.
    @Test func dpkgSourceFailureIsReported() throws {
        let tmp = try TestDirectory()
        let made = try Self.dpkgSourcePackage(in: tmp)
        let debian = made + "/pkg_1.0-1.debian.tar.xz"
        let oldSum = try sha256sum(debian)
        let oldSize = try #require(try FileManager.default.attributesOfItem(atPath: debian)[.size] as? Int)
        try tmp.write("make/pkg_1.0-1.debian.tar.xz", "not an xz stream\n")
        let dsc = made + "/pkg_1.0-1.dsc"
        let text = try String(contentsOfFile: dsc, encoding: .utf8)
        let listed = " \(oldSum) \(oldSize) pkg_1.0-1.debian.tar.xz"
        #expect(text.contains(listed))
        try tmp.write(
            "make/pkg_1.0-1.dsc",
            text.replacingOccurrences(of: listed, with: " \(try sha256sum(debian)) 17 pkg_1.0-1.debian.tar.xz"))
        let recipe = try Self.parse(
            "[inputs.pkg]\nkind = \"debian-source\"\nsource = \"pkg=1.0-1\"\nsuite = \"bookworm\"\n", in: tmp)
        let input = try #require(recipe.input(named: "pkg"))
        let resolved = ResolvedInput(
            input: input, sha256: try sha256sum(dsc), file: dsc, origin: "test",
            companions: [
                "pkg_1.0.orig.tar.gz": made + "/pkg_1.0.orig.tar.gz", "pkg_1.0-1.debian.tar.xz": debian,
            ])
        let out = tmp.path + "/inputs/pkg"
        let error = try #require(throws: RecipeError.self) { try Unpacker.unpack(resolved, into: out) }
        #expect(error.kind == .unpack)
        #expect(error.description.hasPrefix("input 'pkg': dpkg-source -x pkg_1.0-1.dsc failed (exit status "))
        #expect(error.description.contains("dpkg-source: error"))
        #expect(error.description.hasSuffix(" (is dpkg-dev installed?)"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func fetchedFilesMustMatchTheDSC() async throws {
        let tmp = try TestDirectory()
        let made = try Self.dpkgSourcePackage(in: tmp)
        let served = try tmp.directory("served")
        for name in ["pkg_1.0-1.debian.tar.xz", "pkg_1.0-1.dsc"] {
            try FileManager.default.copyItem(atPath: made + "/" + name, toPath: served + "/" + name)
        }
        // The server gives an upstream tarball other than the one the .dsc lists.
        try tmp.write("served/pkg_1.0.orig.tar.gz", "other bytes\n")
        let sources = try tmp.write(
            "debian.sources", "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\nComponents: main\n")
        let recipe = try Self.parse(
            "[inputs.pkg]\nkind = \"debian-source\"\nsource = \"pkg=1.0-1\"\nsuite = \"bookworm\"\n", in: tmp)
        let input = try #require(recipe.input(named: "pkg"))
        var resolver = InputResolver(cache: InputCache(root: tmp.path + "/cache"), recipe: recipe)
        resolver.aptGet = try Self.fakeAptGet(in: tmp)
        resolver.environment = [
            "FAKE_LOG": tmp.path + "/log", "FAKE_FILES": served, "ENCLAVEKIT_APT_SOURCES": sources,
        ]
        let error = await #expect(throws: RecipeError.self) {
            try await resolver.resolve(input, pin: nil, fetchUnpinned: true)
        }
        #expect(error?.kind == .pinMismatch)
        #expect(error?.description.contains("pkg_1.0.orig.tar.gz has 12 bytes") == true)

        // A pin that is not the .dsc's sha256 is the usual mismatch.
        try FileManager.default.removeItem(atPath: served + "/pkg_1.0.orig.tar.gz")
        try FileManager.default.copyItem(atPath: made + "/pkg_1.0.orig.tar.gz", toPath: served + "/pkg_1.0.orig.tar.gz")
        let wrongPin = String(repeating: "0", count: 64)
        let pinError = await #expect(throws: RecipeError.self) {
            try await resolver.resolve(input, pin: wrongPin)
        }
        #expect(pinError?.kind == .pinMismatch)
        #expect(pinError?.description.contains("expected sha256 \(wrongPin)") == true)

        // A .dsc of another package or version is refused.
        let dscText = try String(contentsOfFile: served + "/pkg_1.0-1.dsc", encoding: .utf8)
        try tmp.write(
            "served/pkg_1.0-1.dsc", dscText.replacingOccurrences(of: "Version: 1.0-1", with: "Version: 1.0-2"))
        let versionError = await #expect(throws: RecipeError.self) {
            try await resolver.resolve(input, pin: nil, fetchUnpinned: true)
        }
        #expect(
            versionError?.description.contains("is the source package pkg=1.0-2, but input 'pkg' names pkg=1.0-1")
                == true)
    }
}
