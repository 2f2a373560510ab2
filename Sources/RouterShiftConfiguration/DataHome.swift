import Foundation

/// The per-user folder where RouterShift keeps what no configuration names: the embedding model by default.
///
/// `$ROUTERSHIFT_HOME` when set, else `$XDG_DATA_HOME/routershift`, else `~/.local/share/routershift`
/// (the XDG base directory default). The test scripts set `ROUTERSHIFT_HOME` to the checkout's git-ignored
/// `data/` folder, so the model they fetch lands in `data/models/`.
public enum DataHome {
    /// The folder, absolute; a relative `ROUTERSHIFT_HOME` is taken against the working directory.
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["ROUTERSHIFT_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: (home as NSString).expandingTildeInPath).standardizedFileURL.path
        }
        // The XDG specification ignores a relative XDG_DATA_HOME.
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return URL(fileURLWithPath: data).appendingPathComponent("routershift").path
        }
        let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: user).appendingPathComponent(".local/share/routershift").path
    }

    /// Where `routershift model fetch` puts all-MiniLM-L6-v2 and the local embedder looks for it by default.
    public static func modelDirectory(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        URL(fileURLWithPath: directory(environment: environment)).appendingPathComponent("models/all-MiniLM-L6-v2")
            .path
    }
}
