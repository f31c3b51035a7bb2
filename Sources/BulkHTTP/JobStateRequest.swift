internal import BulkCore
internal import Foundation

/// The body of `PATCH /v1/bulk/jobs/{id}`: `{"state":"UploadComplete"}` or
/// `{"state":"Aborted"}`. Which transitions are allowed is `JobService`'s to decide.
struct JobStateRequest {
  var state: JobState

  init(json data: Data) throws(BulkError) {
    let body = try JSONObjectBody(data, accepted: ["state"])
    guard let value = try body.string("state"), !value.isEmpty else {
      throw .invalidArgument("state is required: UploadComplete or Aborted")
    }
    guard let state = JobState(named: value) else {
      throw .invalidArgument("state '\(value.prefix(40))' is not a job state: send UploadComplete or Aborted")
    }
    self.state = state
  }
}

extension JobState {
  /// The state whose name is `name` in any case (`uploadcomplete`, `Aborted`), `nil` for none.
  init?(named name: String) {
    let name = name.lowercased()
    guard let state = Self.allCases.first(where: { $0.rawValue.lowercased() == name }) else { return nil }
    self = state
  }
}
