import Foundation

/// A certificate authority and the server certificates it signs, made with Debian's openssl in a temporary
/// folder when a test runs: nothing is committed, nothing expires between runs.
struct TestCertificates {
    let directory: URL
    var caCertificate: String { directory.appendingPathComponent("ca.pem").path }
    var caKey: String { directory.appendingPathComponent("ca.key").path }

    /// A new CA named `name` in `directory` (created if needed).
    static func authority(named name: String = "RouterShift Test CA", in directory: URL) throws -> TestCertificates {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let authority = TestCertificates(directory: directory)
        try openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=\(name)", "-keyout", authority.caKey, "-out", authority.caCertificate)
        return authority
    }

    /// A server certificate for 127.0.0.1 and localhost signed by this CA, written to `certificate` and `key`.
    func issueServerCertificate(certificate: String, key: String) throws {
        let request = directory.appendingPathComponent("request-\(UUID().uuidString).csr").path
        let extensions = directory.appendingPathComponent("extensions-\(UUID().uuidString).cnf").path
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(
            toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", key, "-out", request)
        try Self.openssl(
            "x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey, "-CAcreateserial", "-days", "2",
            "-extfile", extensions, "-out", certificate)
    }

    static func openssl(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CertificateError(
                message: "openssl \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
    }

    struct CertificateError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
