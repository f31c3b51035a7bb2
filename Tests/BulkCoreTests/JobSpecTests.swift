import BulkCore
import Foundation
import Testing

@Suite("JobSpec validation")
struct JobSpecTests {
  let now = Date(timeIntervalSince1970: 1_700_000_000)

  func validate(_ spec: JobSpec) throws(BulkError) -> Job {
    try spec.validated(id: "bulk-job-x", tenantID: "t", now: self.now)
  }

  @Test("an insert with defaults")
  func defaults() throws {
    let job = try self.validate(JobSpec(operation: .insert, object: "customers"))
    #expect(job.state == .open)
    #expect(job.contentType == .csv)
    #expect(job.compression == .none)
    #expect(job.columnDelimiter == ",")
    #expect(job.createdAt == self.now)
    #expect(job.updatedAt == self.now)
  }

  @Test("a query job without a query exports its whole object, the identifier quoted")
  func defaultQuery() throws {
    #expect(try self.validate(JobSpec(operation: .query, object: "sales")).query == #"SELECT * FROM "sales""#)
    #expect(try self.validate(JobSpec(operation: .query, object: "Sales_2024", query: " \n")).query == #"SELECT * FROM "Sales_2024""#)
    #expect(try self.validate(JobSpec(operation: .query, object: "sales", query: "SELECT 1")).query == "SELECT 1")
  }

  static let refused: [(JobSpec, String)] = [
    (JobSpec(operation: nil, object: "t"), "operation is required"),
    (JobSpec(operation: .insert, object: ""), "object is required"),
    (JobSpec(operation: .insert, object: "x\"; DROP TABLE y; --"), "is not a table name"),
    (JobSpec(operation: .insert, object: "1abc"), "is not a table name"),
    (JobSpec(operation: .insert, object: String(repeating: "a", count: 64)), "is not a table name"),
    (JobSpec(operation: .insert, object: "t", query: "SELECT 1"), "query is only allowed on query jobs"),
    (JobSpec(operation: .upsert, object: "t"), "external_id_field is required for upsert"),
    (JobSpec(operation: .insert, object: "t", externalIDField: "id"), "external_id_field applies to"),
    (JobSpec(operation: .update, object: "t", externalIDField: "a b"), "is not a column name"),
    (JobSpec(operation: .query, object: "t", compression: .gzip, query: "SELECT 1"), "query jobs take no upload"),
    (JobSpec(operation: .insert, object: "t", contentType: .recordBatch, compression: .gzip), "not to RECORD_BATCH"),
    (JobSpec(operation: .insert, object: "t", columnDelimiter: "::"), "column_delimiter '::' is not supported"),
    (JobSpec(operation: .insert, object: "t", columnDelimiter: "x"), "column_delimiter 'x' is not supported"),
    (JobSpec(operation: .insert, object: "t", contentType: .json, columnDelimiter: "PIPE"), "CSV jobs only"),
  ]

  @Test("invalid requests name the field", arguments: Self.refused)
  func refusals(spec: JobSpec, message: String) {
    #expect {
      try self.validate(spec)
    } throws: { error in
      let error = error as? BulkError
      return error?.code == .invalidArgument && error?.message.contains(message) == true
    }
  }

  @Test(
    "delimiters by character and by Salesforce name",
    arguments: [
      ("COMMA", ","), (",", ","), ("TAB", "\t"), ("\t", "\t"), ("pipe", "|"), ("SEMICOLON", ";"), ("CARET", "^"),
      ("BACKQUOTE", "`"),
    ] as [(String, Character)]
  )
  func delimiters(name: String, character: Character) throws {
    let job = try self.validate(JobSpec(operation: .insert, object: "t", columnDelimiter: name))
    #expect(job.columnDelimiter == character)
  }

  @Test("update and delete may name a key column; upsert must")
  func externalID() throws {
    #expect(try self.validate(JobSpec(operation: .update, object: "t")).externalIDField == "")
    #expect(
      try self.validate(JobSpec(operation: .delete, object: "t", externalIDField: "email")).externalIDField == "email"
    )
    #expect(try self.validate(JobSpec(operation: .upsert, object: "t", externalIDField: "id")).externalIDField == "id")
  }

  @Test("the fingerprint changes with every defining field and only with them")
  func fingerprint() throws {
    let base = try self.validate(JobSpec(operation: .update, object: "t", externalIDField: "id"))
    var later = base
    later.id = "bulk-job-other"
    later.createdAt = self.now.addingTimeInterval(60)
    #expect(JobSpec.fingerprint(of: base) == JobSpec.fingerprint(of: later))
    var other = base
    other.object = "u"
    #expect(JobSpec.fingerprint(of: base) != JobSpec.fingerprint(of: other))
    other = base
    other.externalIDField = "email"
    #expect(JobSpec.fingerprint(of: base) != JobSpec.fingerprint(of: other))
    other = base
    other.columnDelimiter = "|"
    #expect(JobSpec.fingerprint(of: base) != JobSpec.fingerprint(of: other))
  }

  @Test("job ids are bulk-job- and 20 random characters")
  func jobIDs() {
    let ids = (0 ..< 1000).map { _ in Job.makeID() }
    #expect(Set(ids).count == ids.count)
    for id in ids {
      #expect(id.hasPrefix("bulk-job-"))
      #expect(id.count == "bulk-job-".count + 20)
    }
  }

  @Test("progress is processed over total, and 100 when complete")
  func progress() {
    var job = Job(id: "j", tenantID: "t", operation: .insert, object: "o", createdAt: self.now)
    #expect(job.progressPercentage == 0)
    job.numberRecordsTotal = 3
    job.numberRecordsProcessed = 2
    #expect(job.progressPercentage == 66)
    job.state = .jobComplete
    #expect(job.progressPercentage == 100)
  }
}
