/// The recipe the environment tests build on: one environment `build` (bookworm) with `packages`, used by
/// one step, so that the parser's "unused environment" rule holds.
enum EnvironmentRecipeText {
    static func make(name: String = "n", epoch: Int = 0, packages: [String] = ["hello"]) -> String {
        let list = packages.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            recipe = 1
            name = "\(name)"
            version = "1"
            source-date-epoch = \(epoch)

            [environments.build]
            suite = "bookworm"
            packages = [\(list)]

            [[steps]]
            name = "s"
            environment = "build"
            run = ["/bin/true"]

            """
    }
}
