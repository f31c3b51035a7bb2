import BulkCore
import BulkEngine
import BulkTestSupport
import Foundation
import Testing

@Suite("JobEngine on the embedded warehouse")
struct JobEngineTests {
  static let customers = """
    CREATE TABLE customers (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      email TEXT UNIQUE,
      age INTEGER,
      joined DATE
    );
    """

  static func settings(workers: Int = 2, chunkRecords: Int = 3) -> EngineSettings {
    var settings = EngineSettings(workers: workers)
    settings.chunkRecords = chunkRecords
    return settings
  }

  @Test("insert: good records load, bad ones fail with their reason, every record in one result set")
  func insert() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(Self.customers + "INSERT INTO customers (id, name) VALUES (7, 'Existing');")
      let csv = """
        id,name,email,age,joined
        1,Ada,ada@example.com,36,2024-01-05
        2,Grace,grace@example.com,abc,2024-02-11
        7,Dup,dup@example.com,40,2024-03-01
        3,,alan@example.com,41,2024-03-17
        4,"Lovelace, Ada",ada2@example.com,,
        5,Bad Date,bd@example.com,20,2024-02-30
        6,Ok,ok@example.com,22,2024-12-31

        """
      let job = try await harness.run(JobSpec(operation: .insert, object: "customers"), csv: csv)
      #expect(job.state == .jobComplete)
      #expect(job.numberRecordsProcessed == 7)
      #expect(job.numberRecordsFailed == 4)
      #expect(job.numberRecordsTotal == 7)
      #expect(job.numberChunks == 3)
      #expect(job.numberChunksCompleted == 3)
      #expect(job.progressPercentage == 100)

      #expect(
        try harness.rows("SELECT id, name FROM customers ORDER BY id") == [
          ["1", "Ada"], ["4", "Lovelace, Ada"], ["6", "Ok"], ["7", "Existing"],
        ]
      )
      let successful = try await harness.results(job, nil)
      #expect(successful.records == 3)
      #expect(successful.next == "")
      #expect(
        successful.text == """
          _record,_created,id,name,email,age,joined
          1,true,1,Ada,ada@example.com,36,2024-01-05
          5,true,4,"Lovelace, Ada",ada2@example.com,,
          7,true,6,Ok,ok@example.com,22,2024-12-31

          """
      )
      let failed = try await harness.results(job, .failed)
      #expect(failed.records == 4)
      let lines = failed.text.split(separator: "\n")
      #expect(lines.first == "_record,_error,id,name,email,age,joined")
      #expect(
        lines[1]
          == "2,INVALID_VALUE: column age (INTEGER): 'abc' is not an integer,2,Grace,grace@example.com,abc,2024-02-11"
      )
      #expect(lines[2].hasPrefix("3,DUPLICATE_KEY: UNIQUE constraint failed: customers.id,7,Dup"))
      #expect(lines[3].hasPrefix("4,NOT_NULL: NOT NULL constraint failed: customers.name,3,,"))
      #expect(
        lines[4].hasPrefix("6,INVALID_VALUE: column joined (DATE): '2024-02-30' is not a date (YYYY-MM-DD),5,Bad Date")
      )
      #expect(try await harness.results(job, .unprocessed).text == "_record,id,name,email,age,joined\n")
    }
  }

  @Test("formula payloads come back byte-exact, and the _error column the server writes is never a formula")
  func formulaPayloads() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(Self.customers)
      let csv = """
        id,name,email,age
        1,"=HYPERLINK(""http://evil.example"",""x"")",@SUM(A1),+1
        2,-2+3,=1+1,=cmd|' /C calc'!A0

        """
      let job = try await harness.run(JobSpec(operation: .insert, object: "customers"), csv: csv)
      let successful = try await harness.results(job, .successful).text.split(separator: "\n")
      #expect(successful[1] == "1,true,1,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",@SUM(A1),+1")
      let failed = try await harness.results(job, .failed).text.split(separator: "\n")
      #expect(failed.count == 2)
      #expect(failed[1] == "2,INVALID_VALUE: column age (INTEGER): '=cmd|' /C calc'!A0' is not an integer,2,-2+3,=1+1,=cmd|' /C calc'!A0")
      let error = String(failed[1].split(separator: ",")[1])
      #expect(!["=", "+", "-", "@"].contains(error.first.map(String.init) ?? ""))
    }
  }

  @Test(
    "CSV results repeat each record as uploaded, its quoting kept and its CRLF line end not",
    arguments: [Compression.none, .gzip]
  )
  func recordsAsUploaded(compression: Compression) async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings(chunkRecords: 2))
      try harness.sql(Self.customers)
      let csv = "id,name,email\r\n1,\"Ada\",\"a@x\"\r\n2,\"Multi\r\nline\",b@x\r\n3,,c@x\r\n"
      let bytes = compression == .gzip ? try SpooledStagingStoreTests.gzip(Data(csv.utf8)) : Data(csv.utf8)
      let job = try await harness.finished(
        try await harness.submit(JobSpec(operation: .insert, object: "customers", compression: compression), [.bytes(bytes)])
      )
      #expect(
        try await harness.results(job, .successful).text
          == "_record,_created,id,name,email\n1,true,1,\"Ada\",\"a@x\"\n2,true,2,\"Multi\r\nline\",b@x\n"
      )
      #expect(try await harness.results(job, .failed).text.hasSuffix(",3,,c@x\n"))
    }
  }

  @Test("update, upsert and delete match on the key; a missing key is NOT_FOUND")
  func keyedOperations() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(
        Self.customers
          + "INSERT INTO customers (id, name, email) VALUES (1, 'A', 'a@x'), (2, 'B', 'b@x'), (3, 'C', 'c@x');"
      )
      let update = try await harness.run(
        JobSpec(operation: .update, object: "customers"),
        csv: "id,name\n1,A2\n9,Nobody\n3,C2\n"
      )
      #expect(update.numberRecordsFailed == 1)
      let failedUpdate = try await harness.results(update, .failed).text
      #expect(failedUpdate == "_record,_error,id,name\n2,NOT_FOUND: no row with id = 9,9,Nobody\n")
      #expect(try harness.rows("SELECT name FROM customers ORDER BY id") == [["A2"], ["B"], ["C2"]])

      let upsert = try await harness.run(
        JobSpec(operation: .upsert, object: "customers", externalIDField: "email"),
        csv: "email,name,id\nb@x,B2,2\nd@x,D,4\n"
      )
      #expect(upsert.numberRecordsFailed == 0)
      #expect(
        try await harness.results(upsert, .successful).text
          == "_record,_created,email,name,id\n1,false,b@x,B2,2\n2,true,d@x,D,4\n"
      )

      let delete = try await harness.run(JobSpec(operation: .delete, object: "customers"), csv: "id\n1\n5\n")
      #expect(delete.numberRecordsFailed == 1)
      #expect(try harness.rows("SELECT id FROM customers ORDER BY id") == [["2"], ["3"], ["4"]])
    }
  }

  @Test(
    "job-wide problems fail the job before anything loads",
    arguments: [
      (JobSpec(operation: .insert, object: "missing"), "id,name\n1,a\n", "table missing does not exist"),
      (
        JobSpec(operation: .insert, object: "customers"), "id,nope\n1,a\n",
        "column 'nope' (column 2 of the upload) is not a column of table customers"
      ),
      (JobSpec(operation: .update, object: "customers"), "name\nx\n", "the upload has no column id"),
      (JobSpec(operation: .upsert, object: "customers", externalIDField: "name"), "name\nx\n", "is not unique"),
      (JobSpec(operation: .insert, object: "customers"), "id,name\n1,\"unclosed\n", "cannot be read"),
    ]
  )
  func jobFailures(spec: JobSpec, csv: String, message: String) async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(Self.customers)
      let job = try await harness.run(spec, csv: csv)
      #expect(job.state == .failed)
      #expect(job.errorMessage.contains(message), "\(job.errorMessage)")
      #expect(try harness.rows("SELECT count(*) FROM customers") == [["0"]])
    }
  }

  @Test("results page by locator and max_records, each page a complete document")
  func paging() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings(chunkRecords: 7))
      try harness.sql(Self.customers)
      let csv = "id,name\n" + (1 ... 100).map { "\($0),name \($0)" }.joined(separator: "\n") + "\n"
      let job = try await harness.run(JobSpec(operation: .insert, object: "customers"), csv: csv)
      #expect(job.numberChunks == 15)
      var ids: [String] = []
      var locator = ""
      repeat {
        let page = try await harness.results(job, .successful, locator: locator, maxRecords: 13)
        let lines = page.text.split(separator: "\n")
        #expect(lines.first == "_record,_created,id,name")
        #expect(Int64(lines.count - 1) == page.records)
        ids += lines.dropFirst().map { String($0.split(separator: ",")[2]) }
        locator = page.next
      } while !locator.isEmpty
      #expect(ids == (1 ... 100).map(String.init))
      await #expect(throws: BulkError.self) { try await harness.results(job, .failed, locator: "garbage") }
    }
  }

  @Test("JSON jobs: an array of objects in, JSON results out")
  func json() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(Self.customers)
      let upload =
        #"[{"id": 1, "name": "Ada", "age": 36}, {"id": 2, "name": null}, {"id": 3, "name": "C", "age": "x"}]"#
      let job = try await harness.finished(
        try await harness.submit(
          JobSpec(operation: .insert, object: "customers", contentType: .json),
          [.bytes(Data(upload.utf8))]
        )
      )
      #expect(job.state == .jobComplete)
      #expect(job.numberRecordsFailed == 2)
      let successful = try await harness.results(job, .successful).text
      #expect(successful == #"[{"_record":1,"_created":true,"id":1,"name":"Ada","age":36}]"#)
      let failed = try await harness.results(job, .failed).text
      #expect(failed.hasPrefix(#"[{"_record":2,"_error":"NOT_NULL: "#))
    }
  }

  @Test("record batches load without text parsing")
  func recordBatches() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(Self.customers)
      let rows: [[FieldValue]] = [[.text("1"), .text("Ada")], [.text("2"), .text("Grace")]]
      let job = try await harness.finished(
        try await harness.submit(
          JobSpec(operation: .insert, object: "customers", contentType: .recordBatch),
          [.records(columns: ["id", "name"], rows: rows)]
        )
      )
      #expect(job.state == .jobComplete)
      #expect(try harness.rows("SELECT id, name FROM customers ORDER BY id") == [["1", "Ada"], ["2", "Grace"]])
      // Results keep typed rows (for RecordBatch) beside their CSV text (for REST).
      let successful = try await harness.results(job, .successful)
      #expect(successful.text == "_record,_created,id,name\n1,true,1,Ada\n2,true,2,Grace\n")
      #expect(successful.records == 2)
    }
  }

  @Test("a job with no records completes with empty results")
  func empty() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(Self.customers)
      let job = try await harness.finished(
        try await harness.submit(JobSpec(operation: .insert, object: "customers"), [])
      )
      #expect(job.state == .jobComplete)
      #expect(job.numberRecordsTotal == 0)
      #expect(try await harness.results(job, .successful).text == "_record,_created\n")
    }
  }

  @Test("two concurrent upsert jobs on overlapping keys: every key once, each job's records all succeed")
  func concurrentUpserts() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings(workers: 2, chunkRecords: 5))
      try harness.sql(Self.customers)
      let first = "id,name\n" + (1 ... 30).map { "\($0),first \($0)" }.joined(separator: "\n") + "\n"
      let second = "id,name\n" + (21 ... 50).map { "\($0),second \($0)" }.joined(separator: "\n") + "\n"
      let spec = JobSpec(operation: .upsert, object: "customers", externalIDField: "id")
      async let a = harness.run(spec, csv: first)
      async let b = harness.run(spec, csv: second)
      let (jobA, jobB) = try await (a, b)
      #expect(jobA.state == .jobComplete && jobB.state == .jobComplete)
      #expect(jobA.numberRecordsFailed == 0 && jobB.numberRecordsFailed == 0)
      #expect(try harness.rows("SELECT count(*), count(DISTINCT id) FROM customers") == [["50", "50"]])
      let created =
        try await harness.results(jobA, .successful).text.components(separatedBy: ",true,").count - 1
        + harness.results(jobB, .successful).text.components(separatedBy: ",true,").count - 1
      #expect(created == 50)
    }
  }
}
