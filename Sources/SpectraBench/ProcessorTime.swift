internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// The processor time (user and system) processes have used, read from `/proc`.
enum ProcessorTime {
  /// The seconds process `pid` has used so far; 0 once it has exited.
  static func seconds(of pid: Int32) -> Double {
    Self.fields(of: pid).map(\.seconds) ?? 0
  }

  /// The seconds used so far by the processes whose parent is `parent` (PostgreSQL's backends
  /// and workers, for its postmaster); those that have exited are not counted.
  static func secondsOfChildren(of parent: Int32) -> Double {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.reduce(0) { total, pid in
      guard let process = Self.fields(of: pid), process.parent == parent else { return total }
      return total + process.seconds
    }
  }

  /// The parent and the processor seconds of `pid`, from `/proc/PID/stat`.
  private static func fields(of pid: Int32) -> (parent: Int32, seconds: Double)? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let afterName = stat.range(of: ") ", options: .backwards)
    else { return nil }
    // After the name: state, ppid (field 4 of the line), …, utime and stime (fields 14 and 15).
    let fields = stat[afterName.upperBound...].split(separator: " ")
    guard fields.count > 12, let parent = Int32(fields[1]), let user = Double(fields[11]),
      let system = Double(fields[12])
    else { return nil }
    return (parent, (user + system) / Double(sysconf(Int32(_SC_CLK_TCK))))
  }
}
