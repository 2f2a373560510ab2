import CFuzzDriver
import Foundation
import FuzzTargets

/// The target `ROUTERSHIFT_FUZZ_TARGET` names.
let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["ROUTERSHIFT_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget.named(name) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("set ROUTERSHIFT_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}()

/// One input from libFuzzer (the runtime references the symbol; the driver is handed the function).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    selected.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

// SwiftPM gives this binary its own `main`, so libFuzzer's is not linked: its driver is called instead.
_ = selected
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
