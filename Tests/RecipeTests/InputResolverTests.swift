import Foundation
import TestSupport
import Testing

@testable import Recipe

/// Resolvers against local files and a local HTTP server on 127.0.0.1: never the network.
@Suite("Input resolvers")
struct InputResolverTests {
    /// A recipe folder with a `src` directory, a file, and a server root with downloadable files.
    final class World {
        let tmp: TestDirectory
        let recipeDirectory: String
        let served: String
        let cache: InputCache

        init() throws {
            tmp = try TestDirectory()
            recipeDirectory = try tmp.directory("recipe")
            served = try tmp.directory("www")
            cache = InputCache(root: tmp.path + "/cache")
            try tmp.write("recipe/src/node.c", "int main(void) { return 0; }\n")
            try tmp.write("recipe/src/run.sh", "#!/bin/sh\n", mode: 0o755)
            try tmp.write("recipe/key.pem", "not a key\n")
            try tmp.write("www/blob.bin", "blob bytes\n")
            try tmp.write("www/pool/ovmf_1.0-1_all.deb", "pretend deb\n")
        }

        func recipe(_ inputs: String) throws -> Recipe {
            let text = "recipe = 1\nname = \"t\"\nversion = \"1\"\nsource-date-epoch = 0\n" + inputs
            let path = recipeDirectory + "/recipe.toml"
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return try Recipe.load(path: path)
        }
    }

    @Test func pathInputsHashInPlace() async throws {
        let world = try World()
        let recipe = try world.recipe(
            "[inputs.src]\nkind = \"path\"\nsource = \"src\"\n[inputs.key]\nkind = \"path\"\nsource = \"key.pem\"\n")
        let resolver = InputResolver(cache: world.cache, recipe: recipe)
        let src = try #require(recipe.input(named: "src"))
        let tree = try TreeDigest.digest(directory: world.recipeDirectory + "/src")
        let resolved = try await resolver.resolve(src, pin: tree)
        #expect(resolved.sha256 == tree)
        #expect(resolved.file.hasSuffix("/recipe/src"))
        let key = try #require(recipe.input(named: "key"))
        let keyDigest = try sha256sum(world.recipeDirectory + "/key.pem")
        #expect(try await resolver.resolve(key, pin: keyDigest).sha256 == keyDigest)

        let wrong = String(repeating: "0", count: 64)
        let error = await #expect(throws: RecipeError.self) { try await resolver.resolve(key, pin: wrong) }
        #expect(error?.kind == .pinMismatch)
        #expect(
            error?.description
                == "input 'key' (path key.pem, from \(world.recipeDirectory)/key.pem): expected sha256 \(wrong), got "
                + "\(keyDigest); the files changed since \(recipe.lockPath) was written: run enclavekit lock "
                + "\(recipe.path) to pin them (or restore them)")
        let unpinned = await #expect(throws: RecipeError.self) { try await resolver.resolve(key, pin: nil) }
        #expect(unpinned?.kind == .unpinned)
        #expect(unpinned?.description.contains("run enclavekit lock \(recipe.path)") == true)
    }

    /// Issue #13 item 6: a stale pin says how to fix it, for a pin in the lock (local or fetched input)
    /// and a pin in the recipe, for every input kind.
    @Test(arguments: [
        ("path", "src", false, "the files changed since"),
        ("path", "key.pem", false, "the files changed since"),
        ("path", "key.pem", true, "set sha256 = "),
        ("url", "blob.bin", false, "the source now gives other bytes"),
        ("url", "blob.bin", true, "set sha256 = "),
        ("debian", "pool/ovmf_1.0-1_all.deb", false, "the source now gives other bytes"),
        ("pypi", "blob.bin", false, "the source now gives other bytes"),
        ("docker-archive", "key.pem", false, "the files changed since"),
        ("oci", "blob.bin", false, "the source now gives other bytes"),
        ("oci", "blob.bin", true, "set sha256 = "),
    ])
    func stalePinSaysHowToFixIt(kind: String, source: String, pinnedInRecipe: Bool, fix: String) async throws {
        let world = try World()
        let server = try LocalHTTPServer(directory: world.served)
        let stale = String(repeating: "a", count: 64)
        var table = "[inputs.x]\nkind = \"\(kind)\"\n"
        switch kind {
        case "url": table += "source = \"\(server.base)/\(source)\"\n"
        case "debian": table += "source = \"ovmf=1.0-1\"\nurl = \"\(server.base)/\(source)\"\n"
        case "pypi":
            table += "source = \"blob==1.0\"\nfile = \"blob-1.0.tar.gz\"\nurl = \"\(server.base)/\(source)\"\n"
        case "oci": table += "source = \"\(server.base)/\(source)\"\n"
        default: table += "source = \"\(source)\"\n"
        }
        if pinnedInRecipe { table += "sha256 = \"\(stale)\"\n" }
        let recipe = try world.recipe(table)
        let input = try #require(recipe.input(named: "x"))
        let resolver = InputResolver(cache: world.cache, recipe: recipe)
        let error = await #expect(throws: RecipeError.self) { try await resolver.resolve(input, pin: stale) }
        #expect(error?.kind == .pinMismatch)
        let text = error?.description ?? ""
        #expect(text.contains("input 'x'"), "\(text)")
        #expect(text.contains("expected sha256 \(stale)"), "\(text)")
        #expect(text.contains(fix), "\(text)")
        #expect(text.contains("run enclavekit lock \(recipe.path)"), "\(text)")
    }

    @Test func pathInputLeavingThroughSymlinkIsRefused() throws {
        let world = try World()
        try world.tmp.write("outside/secret", "s\n")
        try world.tmp.symlink("recipe/escape", to: world.tmp.path + "/outside")
        let error = #expect(throws: RecipeError.self) {
            try world.recipe("[inputs.e]\nkind = \"path\"\nsource = \"escape/secret\"\n")
        }
        #expect(error?.kind == .unsafePath)
        #expect(error?.description.contains("leaves the recipe's folder through a symlink") == true)
        let missing = #expect(throws: RecipeError.self) {
            try world.recipe("[inputs.m]\nkind = \"path\"\nsource = \"nothing-here\"\n")
        }
        #expect(missing?.description.contains("does not exist") == true)
        let itself = #expect(throws: RecipeError.self) {
            try world.recipe("[inputs.m]\nkind = \"path\"\nsource = \".\"\n")
        }
        #expect(itself?.description.contains("the recipe's folder itself") == true)
    }

    @Test func urlInputsFetchVerifyAndCache() async throws {
        let world = try World()
        let server = try LocalHTTPServer(directory: world.served)
        let url = server.base + "/blob.bin"
        let recipe = try world.recipe("[inputs.blob]\nkind = \"url\"\nsource = \"\(url)\"\n")
        let blob = try #require(recipe.input(named: "blob"))
        let resolver = InputResolver(cache: world.cache, recipe: recipe)
        let expected = try sha256sum(world.served + "/blob.bin")

        let unpinned = await #expect(throws: RecipeError.self) { try await resolver.resolve(blob, pin: nil) }
        #expect(unpinned?.kind == .unpinned)

        let locked = try await resolver.resolve(blob, pin: nil, fetchUnpinned: true)
        #expect(locked.sha256 == expected)
        #expect(locked.origin == url)
        #expect(locked.file == world.cache.inputPath(sha256: expected))
        #expect(try sha256sum(locked.file) == expected)

        // Build mode with the lock: the pin comes from the lock entry of the same kind and source.
        let lock = RecipeLock(entries: ["blob": .init(kind: .url, source: url, sha256: expected)])
        #expect(try await resolver.resolveAll(lock: lock).map(\.sha256) == [expected])
        let stale = RecipeLock(entries: ["blob": .init(kind: .url, source: url + "?v=2", sha256: expected)])
        let staleError = await #expect(throws: RecipeError.self) { try await resolver.resolveAll(lock: stale) }
        #expect(staleError?.kind == .unpinned)

        // Pinned and cached: no fetch at all (the server's file changes, the cache still answers).
        try Data("changed upstream\n".utf8).write(to: URL(fileURLWithPath: world.served + "/blob.bin"))
        #expect(try await resolver.resolve(blob, pin: expected).file == locked.file)

        // A corrupted cache entry is dropped and fetched again: now the upstream bytes differ from the pin.
        try Data("rot".utf8).write(to: URL(fileURLWithPath: locked.file))
        let changed = try sha256sum(world.served + "/blob.bin")
        let error = await #expect(throws: RecipeError.self) { try await resolver.resolve(blob, pin: expected) }
        #expect(error?.kind == .pinMismatch)
        #expect(
            error?.description
                == "input 'blob' (url \(url), from \(url)): expected sha256 \(expected), got \(changed); the source now "
                + "gives other bytes: if they are the ones you want, delete inputs.blob from \(recipe.lockPath) and run "
                + "enclavekit lock \(recipe.path)")
    }

    @Test func httpErrorsAreFetchErrors() async throws {
        let world = try World()
        let server = try LocalHTTPServer(directory: world.served)
        let recipe = try world.recipe("[inputs.gone]\nkind = \"url\"\nsource = \"\(server.base)/missing.bin\"\n")
        let resolver = InputResolver(cache: world.cache, recipe: recipe)
        let gone = try #require(recipe.input(named: "gone"))
        let error = await #expect(throws: RecipeError.self) {
            try await resolver.resolve(gone, pin: nil, fetchUnpinned: true)
        }
        #expect(error?.kind == .fetch)
        #expect(error?.description.contains("input 'gone'") == true)
        #expect(error?.description.contains("404") == true)
    }

    @Test func debianAndDockerArchiveFromURL() async throws {
        let world = try World()
        let server = try LocalHTTPServer(directory: world.served)
        let debURL = server.base + "/pool/ovmf_1.0-1_all.deb"
        let recipe = try world.recipe(
            """
            [inputs.ovmf]
            kind = "debian"
            source = "ovmf=1.0-1"
            arch = "all"
            url = "\(debURL)"
            [inputs.img]
            kind = "docker-archive"
            source = "\(server.base)/blob.bin"
            """)
        let resolver = InputResolver(cache: world.cache, recipe: recipe)
        let ovmf = try #require(recipe.input(named: "ovmf"))
        let resolved = try await resolver.resolve(ovmf, pin: nil, fetchUnpinned: true)
        #expect(resolved.sha256 == (try sha256sum(world.served + "/pool/ovmf_1.0-1_all.deb")))
        #expect(resolved.origin == debURL)
        #expect(ovmf.fileName == "ovmf_1.0-1_all.deb")
        let img = try #require(recipe.input(named: "img"))
        #expect(img.localPath == nil)
        #expect(
            try await resolver.resolve(img, pin: nil, fetchUnpinned: true).sha256
                == (try sha256sum(world.served + "/blob.bin")))
    }

    @Test func pypiThroughPipFromALocalIndex() async throws {
        let world = try World()
        let wheel = "demo_pkg-1.0-py3-none-any.whl"
        _ = try world.tmp.directory("www/files")
        _ = try runProgram(
            "python3",
            [
                "-c",
                """
                import sys, zipfile
                with zipfile.ZipFile(sys.argv[1], "w") as z:
                    z.writestr("demo_pkg/__init__.py", "")
                    z.writestr("demo_pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0\\n")
                    z.writestr("demo_pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
                    z.writestr("demo_pkg-1.0.dist-info/RECORD", "")
                """,
                world.served + "/files/" + wheel,
            ])
        try world.tmp.write(
            "www/simple/demo-pkg/index.html",
            "<html><body><a href=\"../../files/\(wheel)\">\(wheel)</a></body></html>\n")
        let server = try LocalHTTPServer(directory: world.served)
        let recipe = try world.recipe(
            "[inputs.demo]\nkind = \"pypi\"\nsource = \"demo-pkg==1.0\"\nfile = \"\(wheel)\"\nunpack = \"zip\"\n")
        var resolver = InputResolver(cache: world.cache, recipe: recipe)
        resolver.environment = [
            "PIP_INDEX_URL": server.base + "/simple/", "PIP_CONFIG_FILE": "/dev/null", "PIP_NO_CACHE_DIR": "1",
        ]
        let demo = try #require(recipe.input(named: "demo"))
        let resolved = try await resolver.resolve(demo, pin: nil, fetchUnpinned: true)
        #expect(resolved.sha256 == (try sha256sum(world.served + "/files/" + wheel)))
        #expect(resolved.origin.hasPrefix("pip download"))

        // The unpacked wheel.
        let out = world.tmp.path + "/inputs/demo"
        try Unpacker.unpack(resolved, into: out)
        #expect(FileManager.default.fileExists(atPath: out + "/demo_pkg-1.0.dist-info/METADATA"))

        // A file name pip does not produce is a clear error.
        var other = demo
        other.file = "demo_pkg-1.0-py3-none-manylinux_2_17_x86_64.whl"
        let error = await #expect(throws: RecipeError.self) {
            try await resolver.resolve(other, pin: nil, fetchUnpinned: true)
        }
        #expect(error?.kind == .fetch)
    }

    @Test func debianThroughAptGetDownload() async throws {
        let world = try World()
        // A stand-in for apt-get that records its arguments and leaves a .deb in its working directory.
        let fake = try world.tmp.write(
            "bin/apt-get",
            """
            #!/bin/sh
            echo "$@" > "$FAKE_ARGS"
            [ "$2" = "ovmf:arm64=9.9" ] && { echo "E: Version '9.9' for 'ovmf' was not found" >&2; exit 100; }
            printf 'deb for %s\\n' "$2" > "$(echo "$2" | tr ':=' '__')_arm64.deb"
            """, mode: 0o755)
        let recipe = try world.recipe(
            "[inputs.ovmf]\nkind = \"debian\"\nsource = \"ovmf=1.0-1\"\narch = \"arm64\"\nunpack = \"none\"\n")
        var resolver = InputResolver(cache: world.cache, recipe: recipe)
        resolver.aptGet = fake
        resolver.environment = ["FAKE_ARGS": world.tmp.path + "/args"]
        let ovmf = try #require(recipe.input(named: "ovmf"))
        let resolved = try await resolver.resolve(ovmf, pin: nil, fetchUnpinned: true)
        #expect(try String(contentsOfFile: world.tmp.path + "/args", encoding: .utf8) == "download ovmf:arm64=1.0-1\n")
        let reference = try world.tmp.write("expected.deb", "deb for ovmf:arm64=1.0-1\n")
        #expect(resolved.sha256 == (try sha256sum(reference)))
        #expect(resolved.origin == "apt-get download ovmf:arm64=1.0-1")

        // Unpacked with unpack = "none", the file is named as apt-get names it.
        try Unpacker.unpack(resolved, into: world.tmp.path + "/inputs/ovmf")
        #expect(FileManager.default.fileExists(atPath: world.tmp.path + "/inputs/ovmf/ovmf_1.0-1_arm64.deb"))

        var missing = ovmf
        missing.source = "ovmf=9.9"
        let error = await #expect(throws: RecipeError.self) {
            try await resolver.resolve(missing, pin: nil, fetchUnpinned: true)
        }
        #expect(error?.kind == .fetch)
        #expect(
            error?.description.contains("failed (exit status 100): E: Version '9.9' for 'ovmf' was not found") == true)
    }

    @Test func pathInputSymlinksMayNotPointOut() async throws {
        let world = try World()
        try world.tmp.symlink("recipe/src/inside", to: "node.c")
        let recipe = try world.recipe("[inputs.src]\nkind = \"path\"\nsource = \"src\"\n")
        let resolver = InputResolver(cache: world.cache, recipe: recipe)
        let src = try #require(recipe.input(named: "src"))
        #expect(try await resolver.resolve(src, pin: nil, fetchUnpinned: true).sha256.count == 64)
        for (name, target) in [("up", "../key.pem"), ("abs", "/etc/passwd")] {
            try world.tmp.symlink("recipe/src/" + name, to: target)
            let error = await #expect(throws: RecipeError.self) {
                try await resolver.resolve(src, pin: nil, fetchUnpinned: true)
            }
            #expect(error?.kind == .unsafePath)
            #expect(error?.description.contains("symlink '\(name)' points to '\(target)'") == true)
            try FileManager.default.removeItem(atPath: world.recipeDirectory + "/src/" + name)
        }
    }

    static let wheelTags: [(String, [String])] = [
        ("demo-1.0-py3-none-any.whl", []),
        (
            "ziglang-0.13.0-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
            [
                "--platform", "manylinux_2_12_x86_64", "--platform", "manylinux2010_x86_64", "--platform",
                "musllinux_1_1_x86_64",
            ]
        ),
        (
            "cryptography-42.0.0-cp39-abi3-manylinux_2_28_x86_64.whl",
            [
                "--platform", "manylinux_2_28_x86_64", "--python-version", "3.9", "--implementation", "cp", "--abi",
                "abi3",
            ]
        ),
        (
            "numpy-2.0.0-1-cp311-cp311-win_amd64.whl",
            ["--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
        ),
        ("not-a-wheel.whl", []),
    ]

    @Test(arguments: wheelTags)
    func pipPlatformOptionsFromWheelName(file: String, expected: [String]) {
        #expect(InputResolver.wheelPlatformOptions(file) == expected)
    }

    @Test func fetchCommands() throws {
        let recipe = try Recipe(
            toml: """
                recipe = 1
                name = "t"
                version = "1"
                source-date-epoch = 0
                [inputs.k]
                kind = "debian"
                source = "linux-image-6.1.0-50-cloud-amd64=6.1.176-1"
                arch = "amd64"
                [inputs.o]
                kind = "debian"
                source = "ovmf=2022.11-6+deb12u2"
                [inputs.zig]
                kind = "pypi"
                source = "ziglang==0.13.0"
                file = "ziglang-0.13.0-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl"
                """, path: "r/recipe.toml")
        let resolver = InputResolver(cache: InputCache(root: "/nonexistent"), recipe: recipe)
        #expect(
            resolver.origin(of: try #require(recipe.input(named: "k")))
                == "apt-get download linux-image-6.1.0-50-cloud-amd64:amd64=6.1.176-1")
        #expect(
            resolver.origin(of: try #require(recipe.input(named: "o"))) == "apt-get download ovmf=2022.11-6+deb12u2")
        let zig = try #require(recipe.input(named: "zig"))
        let args = resolver.pipArguments(zig, destination: "/d")
        #expect(args.prefix(3) == ["-m", "pip", "download"])
        #expect(args.contains("--no-deps") && args.contains("--only-binary=:all:"))
        #expect(args.last == "ziglang==0.13.0")
        #expect(resolver.origin(of: zig).hasPrefix("pip download --no-deps"))
    }
}
