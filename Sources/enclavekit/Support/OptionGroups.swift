import ArgumentParser

/// `--json`, declared once for the commands whose JSON replaces their text output as a whole. Commands whose
/// `--json` says more about its schema declare their own flag with that help.
struct JSONOutputOption: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    var json = false
}
