internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// Several `spectra-bulk serve` processes started together, each on free ports with a data
/// directory and a standard-error log of its own, for tests of instances that share a catalog,
/// a storage and a warehouse.
///
/// Every process still running when the fleet is released is killed and reaped (by its
/// ``ServerProcess``), however the test ended.
package final class ServerFleet {
  /// One instance of the fleet.
  package struct Instance {
    /// The name the test gave it (its `--instance-id`, when the test passes one).
    package let name: String
    /// The running process.
    package let process: ServerProcess
    /// Its gRPC port at 127.0.0.1.
    package let grpcPort: Int
    /// Its REST port at 127.0.0.1.
    package let httpPort: Int
    /// Its own `--data-dir`.
    package let dataDirectory: String
    /// The file its standard error (the log) goes to.
    package let errorLog: String
  }

  /// The instances, in the order of the names they were started with.
  package let instances: [Instance]

  /// Starts one `spectra-bulk serve` per name in `names`, each with `arguments(name)` plus its own
  /// `--data-dir` and log under `directory` and `--grpc-port 0 --http-port 0`, and waits until
  /// each listens on both surfaces.
  ///
  /// All are started before any is awaited, so they start (and migrate a shared catalog) at once.
  ///
  /// - Throws: ``ServerProcessError/exited(lines:)`` when one exits first (the others are killed).
  package init(
    names: [String],
    directory: String,
    environment: [String: String],
    arguments: (String) -> [String]
  ) throws {
    var started: [(name: String, process: ServerProcess, data: String, log: String)] = []
    for name in names {
      let data = "\(directory)/\(name)"
      let log = "\(directory)/\(name).log"
      let process = try ServerProcess(
        arguments: arguments(name) + ["--data-dir", data, "--grpc-port", "0", "--http-port", "0"],
        environment: environment,
        errorLog: log
      )
      started.append((name, process, data, log))
    }
    self.instances = try started.map { started in
      Instance(
        name: started.name,
        process: started.process,
        grpcPort: try started.process.awaitGRPCPort(),
        httpPort: try started.process.awaitHTTPPort(),
        dataDirectory: started.data,
        errorLog: started.log
      )
    }
  }

  /// The instance named `name`.
  package subscript(name: String) -> Instance {
    guard let instance = self.instances.first(where: { $0.name == name }) else {
      preconditionFailure("the fleet has no instance \(name); it has \(self.instances.map(\.name))")
    }
    return instance
  }

  /// Kills instance `name` with SIGKILL and reaps it; returns its exit status (128 + 9).
  @discardableResult
  package func kill(_ name: String) -> Int32 {
    self[name].process.stop(with: SIGKILL)
  }

  /// Stops every instance still running with `signal`, one after the other; their exit
  /// statuses by name (an instance killed before keeps the status it ended with).
  @discardableResult
  package func stop(with signal: Int32 = SIGTERM) -> [String: Int32] {
    Dictionary(uniqueKeysWithValues: self.instances.map { ($0.name, $0.process.stop(with: signal)) })
  }

  /// The last `lines` lines of each instance's log, headed by its name: for the message of a
  /// failed expectation.
  package func logTails(lines: Int = 40) -> String {
    self.instances.map { instance in
      let text = (try? String(contentsOfFile: instance.errorLog, encoding: .utf8)) ?? "(no log)"
      let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
      return "--- \(instance.name) (pid \(instance.process.pid)):\n" + tail.joined(separator: "\n")
    }.joined(separator: "\n")
  }
}
