import Recipe
import Testing

/// `[environments.NAME]`, a step's `environment` and `[rootfs] base`: what the parser accepts and the
/// errors for each bad shape (issue 14, "Bad input").
@Suite struct EnvironmentParserTests {
    static let header = """
        recipe = 1
        name = "n"
        version = "1"
        source-date-epoch = 0

        """

    static let useBuild = """

        [[steps]]
        name = "s"
        environment = "build"
        run = ["/bin/true"]
        """

    @Test func parsesEnvironmentsStepsAndBase() throws {
        let toml =
            Self.header + """
                [environments.build]
                suite = "bookworm"
                packages = ["python3", "python3-pip"]

                [environments.runtime]
                suite = "bookworm"
                packages = ["python3-minimal"]
                variant = "apt"

                [[steps]]
                name = "s"
                environment = "build"
                run = ["/usr/bin/python3", "-V"]

                [[steps]]
                name = "plain"
                run = ["/inputs/x"]

                [rootfs]
                base = "environment:runtime"
                """
        let recipe = try Recipe(toml: toml, path: "r.toml")
        #expect(recipe.environments.map(\.name) == ["build", "runtime"])
        #expect(recipe.environment(named: "build")?.packages == ["python3", "python3-pip"])
        #expect(recipe.environment(named: "build")?.variant == .essential)
        #expect(recipe.environment(named: "runtime")?.variant == .apt)
        #expect(recipe.environment(named: "runtime")?.arch == "amd64")
        #expect(recipe.steps.map(\.rootEnvironment) == ["build", nil])
        #expect(recipe.rootfs.baseEnvironment == "runtime")
    }

    @Test(arguments: [
        (
            "unused environment", "[environments.build]\nsuite = \"bookworm\"\npackages = [\"hello\"]\n",
            RecipeError.Kind.badValue, "environment 'build' is used by no step"
        ),
        (
            "step names an unknown environment",
            "[[steps]]\nname = \"s\"\nenvironment = \"bulid\"\nrun = [\"/bin/true\"]\n", .unknownReference,
            "'bulid' is not an environment of this recipe (it has no [environments] table)"
        ),
        (
            "base names an unknown environment",
            "[environments.build]\nsuite = \"bookworm\"\npackages = [\"hello\"]\n" + useBuild
                + "\n[rootfs]\nbase = \"environment:runtime\"\n", .unknownReference,
            "'runtime' is not an environment of this recipe (it has build)"
        ),
        (
            "base is not environment:NAME", "[rootfs]\nbase = \"debian:bookworm\"\n", .badValue,
            "is not environment:NAME"
        ),
        (
            "no suite", "[environments.build]\npackages = [\"hello\"]\n" + useBuild, .missingKey, "suite"
        ),
        (
            "bad suite", "[environments.build]\nsuite = \"Bookworm!\"\npackages = [\"hello\"]\n" + useBuild,
            .badValue, "not a Debian suite name"
        ),
        (
            "no packages", "[environments.build]\nsuite = \"bookworm\"\n" + useBuild, .missingKey, "packages"
        ),
        (
            "empty packages", "[environments.build]\nsuite = \"bookworm\"\npackages = []\n" + useBuild, .badValue,
            "at least one package"
        ),
        (
            "package with a version",
            "[environments.build]\nsuite = \"bookworm\"\npackages = [\"hello=2.10-3\"]\n" + useBuild, .badValue,
            "is not a Debian package name"
        ),
        (
            "package twice",
            "[environments.build]\nsuite = \"bookworm\"\npackages = [\"hello\", \"hello\"]\n" + useBuild,
            .badValue, "'hello' is listed twice"
        ),
        (
            "unknown variant",
            "[environments.build]\nsuite = \"bookworm\"\npackages = [\"hello\"]\nvariant = \"fat\"\n" + useBuild,
            .badValue, "is not a variant: use essential, apt, minbase, buildd"
        ),
        (
            "other architecture",
            "[environments.build]\nsuite = \"bookworm\"\npackages = [\"hello\"]\narch = \"arm64\"\n" + useBuild,
            .badValue, "only amd64"
        ),
        (
            "unknown key",
            "[environments.build]\nsuite = \"bookworm\"\npackages = [\"hello\"]\nmirror = \"x\"\n" + useBuild,
            .unknownKey, "mirror"
        ),
        (
            "bad environment name",
            "[environments.Build]\nsuite = \"bookworm\"\npackages = [\"hello\"]\n", .badValue,
            "environment name 'Build' is not valid"
        ),
    ])
    func errors(label: String, body: String, kind: RecipeError.Kind, fragment: String) {
        let toml = Self.header + body
        let error = #expect(throws: RecipeError.self, "\(label)") { try Recipe(toml: toml, path: "r.toml") }
        #expect(error?.kind == kind, "\(label): \(String(describing: error))")
        #expect(error?.description.contains(fragment) == true, "\(label): \(String(describing: error))")
    }
}
