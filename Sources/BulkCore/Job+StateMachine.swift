extension Job {
  /// What happens to a job, as the state machine takes it.
  package enum Event: Hashable, Sendable {
    /// A client's `UpdateJobState` to this state.
    case request(JobState)
    case close
    case abort
    case startProcessing
    case complete
    case fail
  }

  /// The job lifecycle as a pure value: each event returns what the owner must do, and the owner
  /// (`JobTransitions`, inside one catalog transaction) carries it out. No I/O happens here.
  ///
  /// ```
  /// Open ──close──▶ UploadComplete ──start──▶ InProgress ──complete──▶ JobComplete
  ///   │                  │                        └───────fail───────▶ Failed
  ///   └──────────────────┴──────abort──────────────────────────────────▶ Aborted
  /// ```
  /// `fail` is also allowed from `Open` and `UploadComplete` (the lifetime limit, a bad upload).
  package struct StateMachine: Hashable, Sendable {
    /// The state after the events fed so far.
    package private(set) var state: JobState

    package init(state: JobState) {
      self.state = state
    }

    /// What the owner does after an event.
    package enum Action: Hashable, Sendable {
      /// The job moved: persist the new state and start what it implies.
      case transition(from: JobState, to: JobState)
      /// The job had already made this transition: nothing changes, and the call succeeds.
      case none
      /// The event is not allowed in this state; the message says why.
      case refuse(String)
    }

    /// Feeds one event.
    package mutating func handle(_ event: Event) -> Action {
      switch event {
      case .request(let target): self.request(target)
      case .close: self.close()
      case .abort: self.abort()
      case .startProcessing: self.startProcessing()
      case .complete: self.complete()
      case .fail: self.fail()
      }
    }

    /// A client's `UpdateJobState`: only `UploadComplete` (close) and `Aborted` may be asked for.
    package mutating func request(_ target: JobState) -> Action {
      switch target {
      case .uploadComplete:
        return self.close()
      case .aborted:
        return self.abort()
      case .open, .inProgress, .jobComplete, .failed:
        return .refuse("state \(target.rawValue) cannot be requested; use UploadComplete or Aborted")
      }
    }

    /// The client finished uploading. Repeating it after the job moved on is a no-op.
    package mutating func close() -> Action {
      switch self.state {
      case .open:
        return self.move(to: .uploadComplete)
      case .uploadComplete, .inProgress, .jobComplete:
        return .none
      case .failed, .aborted:
        return .refuse("job is \(self.state.rawValue) and cannot be closed")
      }
    }

    /// The client gives up on the job. Repeating it is a no-op.
    package mutating func abort() -> Action {
      switch self.state {
      case .open, .uploadComplete, .inProgress:
        return self.move(to: .aborted)
      case .aborted:
        return .none
      case .jobComplete, .failed:
        return .refuse("job is \(self.state.rawValue) and cannot be aborted")
      }
    }

    /// The engine picked the closed job up.
    package mutating func startProcessing() -> Action {
      switch self.state {
      case .uploadComplete:
        return self.move(to: .inProgress)
      case .inProgress:
        return .none
      case .open, .jobComplete, .failed, .aborted:
        return .refuse("job is \(self.state.rawValue) and cannot start processing")
      }
    }

    /// Every chunk of the job is done.
    package mutating func complete() -> Action {
      switch self.state {
      case .inProgress:
        return self.move(to: .jobComplete)
      case .jobComplete:
        return .none
      case .open, .uploadComplete, .failed, .aborted:
        return .refuse("job is \(self.state.rawValue) and cannot complete")
      }
    }

    /// A job-wide error, or the lifetime limit.
    package mutating func fail() -> Action {
      switch self.state {
      case .open, .uploadComplete, .inProgress:
        return self.move(to: .failed)
      case .failed:
        return .none
      case .jobComplete, .aborted:
        return .refuse("job is \(self.state.rawValue) and cannot fail")
      }
    }

    private mutating func move(to next: JobState) -> Action {
      let previous = self.state
      self.state = next
      return .transition(from: previous, to: next)
    }
  }
}
