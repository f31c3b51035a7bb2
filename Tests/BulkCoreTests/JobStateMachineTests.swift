import BulkCore
import Testing

@Suite("Job.StateMachine")
struct JobStateMachineTests {
  typealias Action = Job.StateMachine.Action

  enum Event: String, CaseIterable, Sendable {
    case close, abort, startProcessing, complete, fail

    func feed(_ machine: inout Job.StateMachine) -> Action {
      switch self {
      case .close: machine.close()
      case .abort: machine.abort()
      case .startProcessing: machine.startProcessing()
      case .complete: machine.complete()
      case .fail: machine.fail()
      }
    }
  }

  /// The seed's diagram: the state each event leads to, or `nil` when it is a no-op repeat.
  /// Pairs missing here are refused.
  static let allowed: [JobState: [Event: JobState?]] = [
    .open: [.close: .uploadComplete, .abort: .aborted, .fail: .failed],
    .uploadComplete: [.close: nil, .abort: .aborted, .startProcessing: .inProgress, .fail: .failed],
    .inProgress: [.close: nil, .abort: .aborted, .startProcessing: nil, .complete: .jobComplete, .fail: .failed],
    .jobComplete: [.close: nil, .complete: nil],
    .failed: [.fail: nil],
    .aborted: [.abort: nil],
  ]

  static let pairs: [(JobState, Event)] = JobState.allCases.flatMap { state in Event.allCases.map { (state, $0) } }

  @Test("every event in every state", arguments: Self.pairs)
  func transition(state: JobState, event: Event) {
    var machine = Job.StateMachine(state: state)
    let action = event.feed(&machine)
    switch Self.allowed[state]?[event] {
    case .some(.some(let next)):
      #expect(action == .transition(from: state, to: next))
      #expect(machine.state == next)
    case .some(.none):
      #expect(action == .none)
      #expect(machine.state == state)
    case .none:
      guard case .refuse(let reason) = action else {
        Issue.record("\(event) in \(state) should be refused, got \(action)")
        return
      }
      #expect(reason.contains(state.rawValue))
      #expect(machine.state == state)
    }
  }

  @Test("terminal states accept no transition")
  func terminalStatesAreFinal() {
    for state in JobState.allCases where state.isTerminal {
      for event in Event.allCases {
        var machine = Job.StateMachine(state: state)
        if case .transition = event.feed(&machine) {
          Issue.record("\(event) moved terminal state \(state)")
        }
      }
    }
  }

  @Test("a client may request only UploadComplete and Aborted", arguments: JobState.allCases)
  func requestableStates(target: JobState) {
    var machine = Job.StateMachine(state: .open)
    let action = machine.request(target)
    switch target {
    case .uploadComplete:
      #expect(action == .transition(from: .open, to: .uploadComplete))
    case .aborted:
      #expect(action == .transition(from: .open, to: .aborted))
    default:
      #expect(action == .refuse("state \(target.rawValue) cannot be requested; use UploadComplete or Aborted"))
      #expect(machine.state == .open)
    }
  }

  @Test("the whole happy path, then idempotent repeats")
  func happyPath() {
    var machine = Job.StateMachine(state: .open)
    #expect(machine.request(.uploadComplete) == .transition(from: .open, to: .uploadComplete))
    #expect(machine.request(.uploadComplete) == .none)
    #expect(machine.startProcessing() == .transition(from: .uploadComplete, to: .inProgress))
    #expect(machine.request(.uploadComplete) == .none)
    #expect(machine.complete() == .transition(from: .inProgress, to: .jobComplete))
    #expect(machine.request(.uploadComplete) == .none)
    #expect(machine.request(.aborted) == .refuse("job is JobComplete and cannot be aborted"))
  }
}
