import Recipe
import TestSupport
import Testing

@Suite("Recipe parser")
struct RecipeParserTests {
    static let base = """
        recipe = 1
        name = "n"
        version = "1"
        source-date-epoch = 0

        [inputs.src]
        kind = "path"
        source = "src"

        [inputs.deb]
        kind = "debian"
        source = "ovmf=1.0"

        [[steps]]
        name = "s"
        inputs = ["src"]
        run = ["/bin/true"]

        """

    @Test func fullRecipe() throws {
        let path = Fixtures.path("recipe-full/recipe.toml")
        let recipe = try Recipe.load(path: path)
        #expect(recipe.name == "example-node")
        #expect(recipe.version == "0.1.0")
        #expect(recipe.sourceDateEpoch == 1_700_000_000)
        #expect(recipe.directory == Fixtures.path("recipe-full"))
        #expect(recipe.lockPath == Fixtures.path("recipe-full") + "/recipe.lock")
        #expect(recipe.inputs.map(\.name) == ["blob", "image", "kernel", "ovmf", "src", "zig"])
        #expect(recipe.steps.map(\.name) == ["node", "init"])
        #expect(recipe.targets.map(\.name) == ["nitro", "sgx", "snp", "tdx"])

        let zig = try #require(recipe.input(named: "zig"))
        #expect(zig.kind == .pypi)
        #expect(zig.unpack == .zip)
        #expect(zig.sha256 == nil)
        #expect(zig.fileName == zig.file)
        let kernel = try #require(recipe.input(named: "kernel"))
        #expect(kernel.sha256 == "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
        #expect(kernel.fileName == "linux-image-6.1.0-50-cloud-amd64_6.1.176-1_amd64.deb")
        let ovmf = try #require(recipe.input(named: "ovmf"))
        #expect(ovmf.debianArch == "amd64")
        #expect(ovmf.downloadURL?.hasPrefix("https://snapshot.debian.org/") == true)
        let blob = try #require(recipe.input(named: "blob"))
        #expect(blob.fileName == "blob.bin")
        #expect(recipe.input(named: "image")?.localPath == "image.tar")
        #expect(recipe.input(named: "src")?.localPath == "src")

        let node = recipe.steps[0]
        #expect(node.inputs == ["zig", "src"])
        #expect(node.run.first == "/inputs/zig/ziglang/zig")
        #expect(node.environment.map(\.key) == ["A_FIRST", "ZIG_GLOBAL_CACHE_DIR"])
        #expect(node.environment.map(\.value) == ["1", "/tmp/zig"])

        #expect(recipe.rootfs.files.map(\.path) == ["/bin/node", "/etc/node.conf", "/opt/all"])
        #expect(recipe.rootfs.files[0].mode == 0o755)
        #expect(recipe.rootfs.files[1].mode == nil)
        #expect(recipe.rootfs.files[1].from == FileReference(origin: .input("src"), path: "node.conf"))
        #expect(recipe.rootfs.files[2].from == FileReference(origin: .step("node"), path: "", isDirectory: true))
        #expect(recipe.rootfs.files[2].from.description == "step:node/")
        #expect(recipe.rootfs.cmd == ["/bin/node"])
        #expect(recipe.rootfs.environment == ["PATH=/bin"])

        guard case .nitro(let nitro) = recipe.targets[0].settings else {
            Issue.record("nitro target has \(recipe.targets[0].settings)")
            return
        }
        #expect(nitro.kernel.description == "input:kernel/boot/vmlinuz-6.1.0-50-cloud-amd64")
        #expect(nitro.initProgram == FileReference(origin: .step("init"), path: "init"))
        #expect(nitro.arch == "x86_64")
        #expect(nitro.nsm == nil)
        #expect(nitro.metadata.imageOS == "debian")
        #expect(nitro.metadata.buildTool == "enclavekit")
        #expect(nitro.metadata.imageKernel == nil)

        guard case .sgx(let sgx) = recipe.targets[1].settings else {
            Issue.record("sgx target has \(recipe.targets[1].settings)")
            return
        }
        #expect(sgx.heapSize == 0x2000)
        #expect(sgx.isvSVN == 3)
        #expect(sgx.isvProdID == 0)
        #expect(sgx.attributes == 0x4)
        #expect(sgx.xfrm == 0x3)
        #expect(sgx.miscSelect == 0)

        guard case .sevSNP(let snp) = recipe.targets[2].settings else {
            Issue.record("snp target has \(recipe.targets[2].settings)")
            return
        }
        #expect(snp.guestFeatures == 0x21)
        #expect(snp.vmm == "ec2")
        #expect(snp.vcpus == 1)
        #expect(snp.vcpuType == "EPYC-v4")
        #expect(snp.kernel == nil && snp.cmdline == nil && snp.initProgram == nil)

        guard case .tdx(let tdx) = recipe.targets[3].settings else {
            Issue.record("tdx target has \(recipe.targets[3].settings)")
            return
        }
        #expect(tdx.memory == 512 << 20)
        #expect(tdx.vcpus == 2)
        #expect(tdx.qemuVersion == "8.2")
        #expect(tdx.pageAddOrder == .twoPass)
        #expect(tdx.cmdlineInitrd == .suffix)
        #expect(tdx.acpiLoader == nil)
        #expect(recipe.targets[3].settings.fileReferences.map(\.key) == ["firmware", "kernel", "init"])
    }

    @Test func defaultsApply() throws {
        let toml =
            Self.base + """
                [targets.t]
                platform = "tdx"
                firmware = "input:deb"
                kernel = "input:deb"
                cmdline = ""
                init = "step:s/init"
                """
        let recipe = try Recipe(toml: toml, path: "recipe.toml")
        #expect(recipe.directory == ".")
        #expect(recipe.lockPath == "recipe.lock")
        guard case .tdx(let tdx) = recipe.targets[0].settings else {
            Issue.record("not tdx")
            return
        }
        #expect(tdx.memory == 2 << 30)
        #expect(tdx.vcpus == 1)
        #expect(tdx.qemuVersion == "9.1")
        #expect(tdx.pageAddOrder == nil)
        #expect(recipe.rootfs == RootfsSpec())
        #expect(recipe.input(named: "deb")?.unpack == UnpackMode.none)
    }

    @Test(arguments: [
        ("2G", UInt64(2) << 30), ("512M", 512 << 20), ("2048", 2048 << 20), ("1GiB", 1 << 30), ("64k", 64 << 10),
    ])
    func memorySizes(text: String, bytes: UInt64) throws {
        let toml =
            Self.base + """
                [targets.t]
                platform = "tdx"
                firmware = "input:deb"
                kernel = "input:deb"
                cmdline = ""
                init = "input:deb"
                memory = "\(text)"
                """
        guard case .tdx(let tdx) = try Recipe(toml: toml, path: "r.toml").targets[0].settings else {
            Issue.record("not tdx")
            return
        }
        #expect(tdx.memory == bytes)
    }

    /// (label, TOML appended to `base` or replacing it, expected kind, text the message must contain)
    static let errorCases: [(String, String, RecipeError.Kind, String)] = [
        ("syntax", "recipe = 1\nname = \"x\n", .syntax, "r.toml:2:"),
        (
            "unknown target key",
            "[targets.nitro]\nplatform = \"nitro\"\nkernal = \"input:deb\"", .unknownKey,
            "r.toml: [targets.nitro]: unknown key 'kernal'"
        ),
        (
            "unknown input key", "[inputs.x]\nkind = \"url\"\nsource = \"http://h/x\"\nsha = \"\"", .unknownKey,
            "[inputs.x]: unknown key 'sha'"
        ),
        (
            "unknown step key", "[[steps]]\nname = \"t\"\nrun = [\"a\"]\nshell = true", .unknownKey,
            "[[steps]] #2: unknown key 'shell'"
        ),
        ("unknown rootfs key", "[rootfs]\nfiles = []\nuser = \"root\"", .unknownKey, "[rootfs]: unknown key 'user'"),
        (
            "unknown rootfs file key", "[rootfs]\nfiles = [{ path = \"/a\", from = \"input:deb\", owner = 0 }]",
            .unknownKey, "files #1: unknown key 'owner'"
        ),
        (
            "unknown metadata key",
            "[targets.n]\nplatform = \"nitro\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"\nmetadata = { os = \"x\" }",
            .unknownKey, "unknown key 'os'"
        ),
        (
            "nitro missing kernel", "[targets.nitro]\nplatform = \"nitro\"\ncmdline = \"\"\ninit = \"input:deb\"",
            .missingKey, "target 'nitro': missing 'kernel'"
        ),
        (
            "nitro missing init", "[targets.nitro]\nplatform = \"nitro\"\ncmdline = \"\"\nkernel = \"input:deb\"",
            .missingKey, "target 'nitro': missing 'init'"
        ),
        (
            "tdx missing firmware",
            "[targets.t]\nplatform = \"tdx\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"",
            .missingKey, "target 't': missing 'firmware'"
        ),
        (
            "sgx missing signing key", "[targets.e]\nplatform = \"sgx\"\nenclave = \"step:s/e.elf\"", .missingKey,
            "target 'e': missing 'signing-key'"
        ),
        (
            "snp kernel without init",
            "[targets.s]\nplatform = \"sev-snp\"\nfirmware = \"input:deb\"\nkernel = \"input:deb\"\ncmdline = \"x\"",
            .missingKey, "missing 'init'"
        ),
        (
            "snp cmdline alone", "[targets.s]\nplatform = \"sev-snp\"\nfirmware = \"input:deb\"\ncmdline = \"x\"",
            .missingKey, "missing 'kernel' and 'init'"
        ),
        (
            "tdx acpi partial",
            "[targets.t]\nplatform = \"tdx\"\nfirmware = \"input:deb\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"\nacpi-rsdp = \"input:deb\"",
            .missingKey, "acpi-loader"
        ),
        ("bad platform", "[targets.x]\nplatform = \"sev\"", .badValue, "'sev' is not a platform"),
        ("target without platform", "[targets.x]\nkernel = \"input:deb\"", .missingKey, "missing 'platform'"),
        (
            "bad memory",
            "[targets.t]\nplatform = \"tdx\"\nfirmware = \"input:deb\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"\nmemory = \"lots\"",
            .badValue, "key 'memory'"
        ),
        (
            "bad vcpus",
            "[targets.t]\nplatform = \"tdx\"\nfirmware = \"input:deb\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"\nvcpus = 0",
            .badValue, "at least 1"
        ),
        (
            "bad page order",
            "[targets.t]\nplatform = \"tdx\"\nfirmware = \"input:deb\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"\npage-add-order = \"random\"",
            .badValue, "per-page or two-pass"
        ),
        (
            "bad qemu version",
            "[targets.t]\nplatform = \"tdx\"\nfirmware = \"input:deb\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"\nqemu-version = \"nine\"",
            .badValue, "QEMU version"
        ),
        (
            "isv-svn too big",
            "[targets.e]\nplatform = \"sgx\"\nenclave = \"step:s/e\"\nsigning-key = \"input:deb\"\nisv-svn = 70000",
            .badValue, "from 0 to 65535"
        ),
        (
            "bad hex",
            "[targets.e]\nplatform = \"sgx\"\nenclave = \"step:s/e\"\nsigning-key = \"input:deb\"\nxfrm = \"0xZZ\"",
            .badValue, "key 'xfrm'"
        ),
        (
            "bad vmm", "[targets.s]\nplatform = \"sev-snp\"\nfirmware = \"input:deb\"\nvmm = \"xen\"", .badValue,
            "not a VMM"
        ),
        (
            "bad nitro arch",
            "[targets.n]\nplatform = \"nitro\"\nkernel = \"input:deb\"\ncmdline = \"\"\ninit = \"input:deb\"\narch = \"arm\"",
            .badValue, "x86_64 or aarch64"
        ),
        (
            "reference to unknown input",
            "[targets.n]\nplatform = \"nitro\"\nkernel = \"input:nope/k\"\ncmdline = \"\"\ninit = \"input:deb\"",
            .unknownReference, "names input 'nope'"
        ),
        (
            "reference to unknown step", "[rootfs]\nfiles = [{ path = \"/a\", from = \"step:nope/a\" }]",
            .unknownReference, "names step 'nope'"
        ),
        (
            "reference with ..", "[rootfs]\nfiles = [{ path = \"/a\", from = \"step:s/../x\" }]", .unsafePath,
            "contains '..'"
        ),
        (
            "reference absolute", "[rootfs]\nfiles = [{ path = \"/a\", from = \"input:src//etc/passwd\" }]",
            .unsafePath, "empty path component"
        ),
        (
            "reference bad prefix", "[rootfs]\nfiles = [{ path = \"/a\", from = \"file:/etc/passwd\" }]", .badValue,
            "is not a file reference"
        ),
        (
            "whole step without slash", "[rootfs]\nfiles = [{ path = \"/a\", from = \"step:s\" }]", .badValue,
            "names no file"
        ),
        (
            "input directory reference", "[rootfs]\nfiles = [{ path = \"/a\", from = \"input:src/dir/\" }]", .badValue,
            "only step outputs"
        ),
        (
            "whole unpacked input",
            "[inputs.z]\nkind = \"url\"\nsource = \"http://h/z.zip\"\nunpack = \"zip\"\n[rootfs]\nfiles = [{ path = \"/a\", from = \"input:z\" }]",
            .badValue, "is unpacked (zip)"
        ),
        (
            "rootfs relative path", "[rootfs]\nfiles = [{ path = \"bin/a\", from = \"input:deb\" }]", .badValue,
            "must be absolute"
        ),
        (
            "rootfs path ..", "[rootfs]\nfiles = [{ path = \"/bin/../../a\", from = \"input:deb\" }]", .unsafePath,
            "contains '..'"
        ),
        ("rootfs root", "[rootfs]\nfiles = [{ path = \"/\", from = \"input:deb\" }]", .badValue, "the root itself"),
        (
            "rootfs duplicate",
            "[rootfs]\nfiles = [{ path = \"/a\", from = \"input:deb\" }, { path = \"//a\", from = \"input:deb\" }]",
            .badValue, "placed twice"
        ),
        (
            "rootfs bad mode", "[rootfs]\nfiles = [{ path = \"/a\", from = \"input:deb\", mode = \"0999\" }]",
            .badValue, "key 'mode'"
        ),
        ("rootfs bad env", "[rootfs]\nenv = [\"NOEQUALS\"]", .badValue, "is not KEY=value"),
        ("rootfs files not tables", "[rootfs]\nfiles = [\"/a\"]", .badValue, "must be a table"),
        (
            "step uses later step",
            "[[steps]]\nname = \"t\"\ninputs = [\"u\"]\nrun = [\"a\"]\n[[steps]]\nname = \"u\"\nrun = [\"b\"]",
            .unknownReference, "'u' is neither an input nor an earlier step"
        ),
        (
            "step uses itself", "[[steps]]\nname = \"t\"\ninputs = [\"t\"]\nrun = [\"a\"]", .unknownReference,
            "this step itself"
        ),
        ("step uses unknown", "[[steps]]\nname = \"t\"\ninputs = [\"zzz\"]\nrun = [\"a\"]", .unknownReference, "'zzz'"),
        (
            "step input twice", "[[steps]]\nname = \"t\"\ninputs = [\"src\", \"src\"]\nrun = [\"a\"]", .badValue,
            "listed twice"
        ),
        (
            "step name clashes with input", "[[steps]]\nname = \"src\"\nrun = [\"a\"]", .duplicateName,
            "already used by an input"
        ),
        ("step name twice", "[[steps]]\nname = \"s\"\nrun = [\"a\"]", .duplicateName, "an earlier step"),
        ("step without run", "[[steps]]\nname = \"t\"", .missingKey, "missing 'run'"),
        ("step empty run", "[[steps]]\nname = \"t\"\nrun = []", .badValue, "must name a program"),
        ("step run not strings", "[[steps]]\nname = \"t\"\nrun = [\"a\", 1]", .badValue, "element 2"),
        (
            "step bad env name", "[[steps]]\nname = \"t\"\nrun = [\"a\"]\nenv = { \"A-B\" = \"1\" }", .badValue,
            "not an environment variable name"
        ),
        (
            "step env not string", "[[steps]]\nname = \"t\"\nrun = [\"a\"]\nenv = { A = 1 }", .badValue,
            "expected a string"
        ),
        ("step bad name", "[[steps]]\nname = \"Build\"\nrun = [\"a\"]", .badValue, "step name 'Build'"),
        (
            "bad input name", "[inputs.Zig]\nkind = \"url\"\nsource = \"http://h/x\"", .badValue,
            "input name 'Zig' is not valid"
        ),
        ("bad target name", "[targets._x]\nplatform = \"sgx\"", .badValue, "target name '_x'"),
        ("bad kind", "[inputs.x]\nkind = \"git\"\nsource = \"x\"", .badValue, "'git' is not an input kind"),
        ("missing source", "[inputs.x]\nkind = \"url\"", .missingKey, "missing 'source'"),
        ("missing kind", "[inputs.x]\nsource = \"x\"", .missingKey, "missing 'kind'"),
        (
            "bad sha256", "[inputs.x]\nkind = \"url\"\nsource = \"http://h/x\"\nsha256 = \"ABC\"", .badValue,
            "64 lowercase hex"
        ),
        (
            "bad unpack", "[inputs.x]\nkind = \"url\"\nsource = \"http://h/x\"\nunpack = \"rar\"", .badValue,
            "not an unpack mode"
        ),
        ("path unpack", "[inputs.x]\nkind = \"path\"\nsource = \"a.tar\"\nunpack = \"tar\"", .badValue, "bind-mounted"),
        ("path absolute", "[inputs.x]\nkind = \"path\"\nsource = \"/etc\"", .unsafePath, "is absolute"),
        ("path dotdot", "[inputs.x]\nkind = \"path\"\nsource = \"a/../../etc\"", .unsafePath, "contains '..'"),
        ("oci dotdot", "[inputs.x]\nkind = \"oci\"\nsource = \"../img.tar\"", .unsafePath, "contains '..'"),
        ("oci odd url", "[inputs.x]\nkind = \"oci\"\nsource = \"ftp://h/img.tar\"", .badValue, "neither a path"),
        ("debian bad source", "[inputs.x]\nkind = \"debian\"\nsource = \"ovmf\"", .badValue, "name=version"),
        (
            "debian bad arch", "[inputs.x]\nkind = \"debian\"\nsource = \"ovmf=1\"\narch = \"AMD 64\"", .badValue,
            "architecture"
        ),
        (
            "pypi bad source", "[inputs.x]\nkind = \"pypi\"\nsource = \"ziglang=0.13\"\nfile = \"z.whl\"", .badValue,
            "name==version"
        ),
        ("pypi no file", "[inputs.x]\nkind = \"pypi\"\nsource = \"ziglang==0.13.0\"", .missingKey, "missing 'file'"),
        (
            "pypi bad file", "[inputs.x]\nkind = \"pypi\"\nsource = \"ziglang==0.13.0\"\nfile = \"../z.whl\"",
            .badValue, "key 'file'"
        ),
        (
            "url not http", "[inputs.x]\nkind = \"url\"\nsource = \"file:///etc/passwd\"", .badValue,
            "http:// or https://"
        ),
        (
            "url key not http", "[inputs.x]\nkind = \"debian\"\nsource = \"a1=1\"\nurl = \"ftp://x/y\"", .badValue,
            "key 'url'"
        ),
        (
            "arch on url", "[inputs.x]\nkind = \"url\"\nsource = \"http://h/x\"\narch = \"amd64\"", .badValue,
            "only for debian"
        ),
        (
            "file on debian", "[inputs.x]\nkind = \"debian\"\nsource = \"a1=1\"\nfile = \"x.deb\"", .badValue,
            "only for pypi"
        ),
        (
            "url on url", "[inputs.x]\nkind = \"url\"\nsource = \"http://h/x\"\nurl = \"http://h/y\"", .badValue,
            "key 'url'"
        ),
        ("wrong type", "[inputs.x]\nkind = 3\nsource = \"x\"", .badValue, "expected a string, found a int"),
    ]

    @Test(arguments: errorCases)
    func errors(label: String, addition: String, kind: RecipeError.Kind, fragment: String) throws {
        let toml = addition.hasPrefix("recipe = ") ? addition : Self.base + addition + "\n"
        let error = #expect(throws: RecipeError.self, "\(label)") { try Recipe(toml: toml, path: "r.toml") }
        #expect(error?.kind == kind, "\(label): \(String(describing: error))")
        #expect(error?.description.contains(fragment) == true, "\(label): \(String(describing: error))")
    }

    /// Top-level keys: version, required fields and their types (the whole document is given).
    static let head = "recipe = 1\nname = \"n\"\nversion = \"1\"\nsource-date-epoch = 0\n"
    static let headerCases: [(String, String, RecipeError.Kind, String)] = [
        ("no version", "name = \"n\"\nversion = \"1\"\nsource-date-epoch = 0", .missingKey, "missing 'recipe'"),
        ("version 2", "recipe = 2\nname = \"n\"\nversion = \"1\"\nsource-date-epoch = 0", .badValue, "recipe = 1"),
        (
            "version string", "recipe = \"1\"\nname = \"n\"\nversion = \"1\"\nsource-date-epoch = 0", .badValue,
            "expected an integer"
        ),
        ("no name", "recipe = 1\nversion = \"1\"\nsource-date-epoch = 0", .missingKey, "missing 'name'"),
        (
            "empty name", "recipe = 1\nname = \"\"\nversion = \"1\"\nsource-date-epoch = 0", .badValue,
            "must not be empty"
        ),
        ("no version string", "recipe = 1\nname = \"n\"\nsource-date-epoch = 0", .missingKey, "missing 'version'"),
        ("no sde", "recipe = 1\nname = \"n\"\nversion = \"1\"", .missingKey, "missing 'source-date-epoch'"),
        ("negative sde", "recipe = 1\nname = \"n\"\nversion = \"1\"\nsource-date-epoch = -1", .badValue, "must be ≥ 0"),
        (
            "sde string", "recipe = 1\nname = \"n\"\nversion = \"1\"\nsource-date-epoch = \"1700000000\"", .badValue,
            "expected an integer"
        ),
        (
            "sde float", "recipe = 1\nname = \"n\"\nversion = \"1\"\nsource-date-epoch = 1.5", .badValue,
            "found a double"
        ),
        ("nul byte", "recipe = 1\u{0}", .syntax, "NUL"),
        ("duplicate key", "recipe = 1\nrecipe = 1", .syntax, "r.toml:2:"),
        ("header not a key", head + "[é]\n", .syntax, "r.toml:5:2: TOML syntax error: a table header must start"),
        ("array header not a key", head + "[[ +]]\n", .syntax, "r.toml:5:4: TOML syntax error"),
        ("nul in input name", head + "[inputs.\"a\\u0000b\"]\nkind = \"url\"\n", .syntax, "escaped NUL character"),
        ("nul in key", head + "\"name\\u0000x\" = 1\n", .syntax, "escaped NUL character"),
        ("nul in value", head + "x = \"a\\U00000000\"\n", .syntax, "escaped NUL character"),
        ("unknown top key", head + "colour = 1", .unknownKey, "r.toml: unknown key 'colour'"),
        ("inputs not a table", head + "inputs = 3", .badValue, "key 'inputs': expected a table, found a int"),
        ("steps not an array", head + "steps = 3", .badValue, "key 'steps': expected an array"),
        ("targets not a table", head + "targets = []", .badValue, "key 'targets': expected a table"),
        ("rootfs not a table", head + "rootfs = \"/\"", .badValue, "key 'rootfs': expected a table"),
        ("step not a table", head + "steps = [1]", .badValue, "[[steps]] #1: each [[steps]] entry must be a table"),
    ]

    @Test(arguments: headerCases)
    func headerErrors(label: String, toml: String, kind: RecipeError.Kind, fragment: String) throws {
        let error = #expect(throws: RecipeError.self, "\(label)") { try Recipe(toml: toml, path: "r.toml") }
        #expect(error?.kind == kind, "\(label): \(String(describing: error))")
        #expect(error?.description.contains(fragment) == true, "\(label): \(String(describing: error))")
    }

    @Test func syntaxErrorHasLineAndColumn() throws {
        let error = #expect(throws: RecipeError.self) {
            try Recipe(toml: "recipe = 1\nname = \"n\"\nversion = = 2\n", path: "dir/recipe.toml")
        }
        #expect(error?.line == 3)
        #expect(error?.column != nil)
        #expect(error?.description.hasPrefix("dir/recipe.toml:3:") == true)
    }

    @Test func minimalRecipeHasNoInputsStepsOrTargets() throws {
        let recipe = try Recipe(toml: "recipe = 1\nname = \"n\"\nversion = \"1\"\nsource-date-epoch = 0\n", path: "r")
        #expect(recipe.inputs.isEmpty && recipe.steps.isEmpty && recipe.targets.isEmpty)
    }
}

/// Recipes that aborted the process inside toml++ (`n=[}`, issue 13 item 14) and their neighbours: each is a
/// syntax error naming the file, line and column.
@Suite struct RecipeHostileTOMLTests {
    @Test(arguments: ["n=[}", "a=[1,}", "a={]", "[a]]", "a=[{}}", "recipe = 1\nx = [\n  1,\n}\n", "a=\"abc"])
    func syntaxErrorNotCrash(text: String) {
        let error = #expect(throws: RecipeError.self) { try Recipe(toml: text, path: "r.toml") }
        #expect(error?.kind == .syntax)
        #expect(error?.description.hasPrefix("r.toml:") == true, "\(String(describing: error))")
    }
}
