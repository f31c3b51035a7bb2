internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import Synchronization

/// Shows an upload's and a job's progress on standard error: a bar redrawn in place on a
/// terminal, a line per step otherwise, or nothing.
final class ProgressDisplay: ClientProgress {
  /// How progress is shown.
  enum Style: Sendable {
    /// Bars redrawn in place, at most ten times a second (a terminal).
    case bars
    /// A line at each tenth of the way and at each state change (a log file, a pipe).
    case lines
    /// Only notes (retries, fallbacks): `--json` when standard error is not a terminal.
    case notes
    /// Nothing (`--quiet`).
    case silent
  }

  private struct State {
    /// When the current bar was last drawn.
    var drawnAt: ContinuousClock.Instant?
    /// Whether a bar is on screen without its line ended.
    var barShown = false
    /// When this upload session started, and the file position it started from (for the rate).
    var uploadStart: (ContinuousClock.Instant, Int64)?
    /// The last tenth of the upload or of the job reported as a line.
    var lastStep = -1
    /// The last state reported as a line.
    var lastState: Spectra_Bulk_V1_JobState?
  }

  let style: Style
  private let state = Mutex(State())

  init(style: Style) {
    self.style = style
  }

  /// The upload of `name` reached `sent` of `total` bytes.
  func uploading(_ name: String, sent: Int64, total: Int64) {
    guard self.style == .bars || self.style == .lines else { return }
    let now = ContinuousClock.now
    let line: String? = self.state.withLock { state in
      let (start, startPosition) = state.uploadStart ?? (now, sent)
      if state.uploadStart == nil { state.uploadStart = (now, sent) }
      let fraction = total > 0 ? Double(sent) / Double(total) : 1
      let seconds = Self.seconds(now - start)
      let rate = seconds > 0 ? Double(sent - startPosition) / seconds : 0
      switch self.style {
      case .bars:
        guard sent == total || state.drawnAt.map({ now - $0 >= .milliseconds(100) }) ?? true else { return nil }
        state.drawnAt = now
        state.barShown = true
        // Until some time has passed, neither the rate nor the time left is known.
        let speed = rate > 0 ? "\(Self.bytes(Int64(rate)))/s" : "--/s"
        let eta = sent >= total ? "0:00" : rate > 0 ? Self.duration(Double(total - sent) / rate) : "--:--"
        return "\r\u{1B}[Kupload  \(Self.bar(fraction))  \(Self.percent(fraction))  "
          + "\(Self.bytes(sent))/\(Self.bytes(total))  \(speed)  ETA \(eta)"
      case .lines, .notes, .silent:
        let step = Int(fraction * 10)
        guard step > state.lastStep else { return nil }
        state.lastStep = step
        return "uploaded \(Self.bytes(sent)) of \(Self.bytes(total)) (\(Self.percent(fraction)))\n"
      }
    }
    line.map(Self.write)
  }

  /// The upload ended (or broke): the next upload session measures its rate afresh.
  func uploadEnded() {
    self.state.withLock { state in
      state.uploadStart = nil
      state.lastStep = -1
    }
    self.endBar()
  }

  /// The job as `WatchJob` last reported it.
  func processing(_ job: Spectra_Bulk_V1_Job) {
    guard self.style == .bars || self.style == .lines else { return }
    let now = ContinuousClock.now
    let total = job.numberRecordsTotal
    let fraction = Double(job.progressPercentage) / 100
    let records = total > 0 ? "\(job.numberRecordsProcessed)/\(total) records" : "\(job.numberRecordsProcessed) records"
    let chunks = job.numberChunks > 0 ? "  chunks \(job.numberChunksCompleted)/\(job.numberChunks)" : ""
    let line: String? = self.state.withLock { state in
      switch self.style {
      case .bars:
        guard job.isTerminal || state.drawnAt.map({ now - $0 >= .milliseconds(100) }) ?? true else { return nil }
        state.drawnAt = now
        state.barShown = true
        return "\r\u{1B}[Kprocess \(Self.bar(fraction))  \(Self.percent(fraction))  \(records)  "
          + "\(job.numberRecordsFailed) failed\(chunks)  \(job.state.displayName)"
      case .lines, .notes, .silent:
        let step = Int(fraction * 10)
        guard job.state != state.lastState || step > state.lastStep else { return nil }
        if job.state != state.lastState { state.lastStep = -1 }
        state.lastState = job.state
        state.lastStep = step
        return "\(job.jobID) \(job.state.displayName): \(records), \(job.numberRecordsFailed) failed\(chunks)\n"
      }
    }
    line.map(Self.write)
  }

  /// The job is no longer followed: its last bar stays on screen.
  func watchEnded() {
    self.endBar()
  }

  /// A message between progress reports (a retry, a fallback), on its own line.
  func note(_ message: String) {
    guard self.style != .silent else { return }
    self.endBar()
    Self.write(message + "\n")
  }

  /// Ends the bar on screen, if any, with a new line.
  func endBar() {
    let shown = self.state.withLock { state in
      defer {
        state.barShown = false
        state.drawnAt = nil
      }
      return state.barShown
    }
    if shown { Self.write("\n") }
  }

  private static func write(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// `[#####-----]` for `fraction` of 30 columns.
  static func bar(_ fraction: Double) -> String {
    let width = 30
    let filled = max(0, min(width, Int((fraction * Double(width)).rounded(.down))))
    return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
  }

  /// `45%`.
  static func percent(_ fraction: Double) -> String {
    "\(max(0, min(100, Int((fraction * 100).rounded(.down)))))%"
  }

  /// `12.3 MB`, in decimal units.
  static func bytes(_ count: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(count)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
      value /= 1000
      unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
  }

  /// `1:05` (minutes and seconds) or `2:01:05`.
  static func duration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded(.up))
    let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
    return hours > 0
      ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
  }

  static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}
