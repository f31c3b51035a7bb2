/// The OpenAPI 3.0 description of the REST surface, served at `GET /v1/openapi.json`.
///
/// Hand-written; `OpenAPIDocumentTests` keeps it true: its paths and methods are exactly the
/// router's, and every error status it documents is one `RESTError` can answer with. The
/// `/bulk/...` aliases refer to their `/v1/bulk/...` path items.
enum OpenAPIDocument {
  static let json = #"""
    {
      "openapi": "3.0.3",
      "info": {
        "title": "Spectra Bulk REST API",
        "version": "1.0.0",
        "description": "Bulk jobs in the Salesforce Bulk API 2.0 workflow: create a job, PUT its data to a signed upload URL, close it, poll it, download its results. Every /v1/bulk route is also served under /bulk. Errors are {\"error\":{\"code\":\"…\",\"message\":\"…\"}} with the code of the gRPC API. A method a path does not take is 405 Method Not Allowed (code UNIMPLEMENTED) with an Allow header naming the methods it takes."
      },
      "security": [{"bearer": []}],
      "paths": {
        "/v1/bulk/jobs": {
          "post": {
            "operationId": "createJob",
            "summary": "Create a job; it starts Open. A retry with the same request_id returns the same job.",
            "parameters": [{"$ref": "#/components/parameters/TenantID"}],
            "requestBody": {
              "required": true,
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateJobRequest"}}}
            },
            "responses": {
              "201": {
                "description": "The job",
                "headers": {"Location": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}},
                "links": {
                  "GetJob": {"operationId": "getJob", "parameters": {"id": "$response.body#/job_id"}, "description": "The job and its progress"},
                  "UpdateJobState": {"operationId": "updateJobState", "parameters": {"id": "$response.body#/job_id"}, "description": "Close or abort the job"},
                  "DeleteJob": {"operationId": "deleteJob", "parameters": {"id": "$response.body#/job_id"}, "description": "Delete the job once it is terminal"},
                  "GetUploadURL": {"operationId": "getUploadURL", "parameters": {"id": "$response.body#/job_id"}, "description": "Where to PUT the job's data"},
                  "GetJobResults": {"operationId": "getJobResults", "parameters": {"id": "$response.body#/job_id"}, "description": "The job's results once it is terminal"}
                }
              },
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "401": {"$ref": "#/components/responses/Unauthenticated"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "409": {"$ref": "#/components/responses/Conflict"},
              "429": {"$ref": "#/components/responses/TooManyJobs"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          },
          "get": {
            "operationId": "listJobs",
            "summary": "The caller's jobs, newest first, a page at a time.",
            "parameters": [
              {"$ref": "#/components/parameters/TenantID"},
              {"name": "state", "in": "query", "allowEmptyValue": true, "description": "Only jobs in this state; empty or absent means every state.", "schema": {"$ref": "#/components/schemas/JobState"}},
              {"name": "limit", "in": "query", "allowEmptyValue": true, "description": "Jobs per page: 0, empty or absent means 25; a larger value than 1000 is served as 1000.", "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807}},
              {"name": "offset", "in": "query", "allowEmptyValue": true, "description": "The next_offset of the previous page: a sealed token that only this server issues, for this tenant. Any other value is refused with 400.", "schema": {"$ref": "#/components/schemas/PageToken"}}
            ],
            "responses": {
              "200": {
                "description": "A page of jobs",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobList"}}}
              },
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "401": {"$ref": "#/components/responses/Unauthenticated"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          }
        },
        "/v1/bulk/jobs/{id}": {
          "parameters": [
            {"$ref": "#/components/parameters/JobID"},
            {"$ref": "#/components/parameters/TenantID"}
          ],
          "get": {
            "operationId": "getJob",
            "summary": "The job and its progress.",
            "responses": {
              "200": {"description": "The job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "401": {"$ref": "#/components/responses/Unauthenticated"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          },
          "patch": {
            "operationId": "updateJobState",
            "summary": "Close (UploadComplete: processing starts) or abort (Aborted) the job. Repeating the transition made is OK.",
            "requestBody": {
              "required": true,
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateJobStateRequest"}}}
            },
            "responses": {
              "200": {"description": "The job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "401": {"$ref": "#/components/responses/Unauthenticated"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          },
          "delete": {
            "operationId": "deleteJob",
            "summary": "Delete a job in a terminal state with its data and results.",
            "responses": {
              "204": {"description": "Deleted"},
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "401": {"$ref": "#/components/responses/Unauthenticated"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          }
        },
        "/v1/bulk/jobs/{id}/upload-url": {
          "parameters": [
            {"$ref": "#/components/parameters/JobID"},
            {"$ref": "#/components/parameters/TenantID"}
          ],
          "get": {
            "operationId": "getUploadURL",
            "summary": "A URL signed for this job and tenant that takes PUT without an Authorization header until it expires.",
            "responses": {
              "200": {"description": "The URL", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UploadURL"}}}},
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "401": {"$ref": "#/components/responses/Unauthenticated"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          }
        },
        "/v1/bulk/jobs/{id}/results": {
          "parameters": [
            {"$ref": "#/components/parameters/JobID"},
            {"$ref": "#/components/parameters/TenantID"}
          ],
          "get": {
            "operationId": "getJobResults",
            "summary": "One result set of a terminal job as one CSV (with its header line) or JSON document.",
            "description": "With max_records (at most 100000 are served, and a page stops near 8 MiB) the response is a page and Bulk-Locator names the next one. Without it the response is all the rest and Bulk-Locator is null; a response over 8 MiB streams and sends Bulk-Record-Count as an HTTP trailer. Accept-Encoding: gzip compresses the body.",
            "parameters": [
              {"name": "result_set", "in": "query", "allowEmptyValue": true, "description": "Empty or absent means query for query jobs, successful for the others.", "schema": {"type": "string", "enum": ["successful", "failed", "unprocessed", "query"]}},
              {"name": "locator", "in": "query", "allowEmptyValue": true, "description": "The Bulk-Locator of the previous page: a token that only this server issues, for this job. Any other value is refused with 400.", "schema": {"$ref": "#/components/schemas/PageToken"}},
              {"name": "max_records", "in": "query", "allowEmptyValue": true, "description": "Records in this page; 0, empty or absent means all the rest.", "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807}},
              {"name": "Accept-Encoding", "in": "header", "schema": {"type": "string"}}
            ],
            "responses": {
              "200": {
                "description": "The records",
                "headers": {
                  "Bulk-Locator": {"description": "The locator of the next page, or null at the end.", "schema": {"type": "string"}},
                  "Bulk-Record-Count": {"description": "Records in this response (a trailer when the response streams).", "schema": {"type": "integer"}}
                },
                "content": {
                  "text/csv": {"schema": {"type": "string"}},
                  "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}
                }
              },
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "401": {"$ref": "#/components/responses/Unauthenticated"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"},
              "500": {"$ref": "#/components/responses/Internal"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          }
        },
        "/v1/bulk/uploads/{id}": {
          "put": {
            "operationId": "uploadJobData",
            "summary": "Append the body to the job's upload; the URL comes from upload-url.",
            "description": "Content-Range: bytes START-END/TOTAL (or /*) places the body at START, like the gRPC offset: bytes already stored are skipped, a gap is refused with 416. Without it the body is appended at the job's bytes_uploaded.",
            "security": [],
            "parameters": [
              {"$ref": "#/components/parameters/JobID"},
              {"name": "tenant", "in": "query", "required": true, "schema": {"type": "string"}},
              {"name": "expires", "in": "query", "required": true, "description": "Unix seconds.", "schema": {"type": "integer"}},
              {"name": "signature", "in": "query", "required": true, "description": "Hex HMAC-SHA256 of job_id, tenant and expires.", "schema": {"type": "string"}},
              {"name": "Content-Range", "in": "header", "schema": {"type": "string"}}
            ],
            "requestBody": {
              "required": true,
              "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "string", "format": "binary"}},
                "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
                "application/gzip": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
              }
            },
            "responses": {
              "200": {"description": "What is stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UploadReceipt"}}}},
              "400": {"$ref": "#/components/responses/InvalidArgument"},
              "403": {"$ref": "#/components/responses/PermissionDenied"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"$ref": "#/components/responses/Conflict"},
              "413": {"$ref": "#/components/responses/TooLarge"},
              "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
              "416": {"$ref": "#/components/responses/OutOfRange"},
              "503": {"$ref": "#/components/responses/Unavailable"}
            }
          }
        },
        "/bulk/jobs": {"$ref": "#/paths/~1v1~1bulk~1jobs"},
        "/bulk/jobs/{id}": {"$ref": "#/paths/~1v1~1bulk~1jobs~1{id}"},
        "/bulk/jobs/{id}/upload-url": {"$ref": "#/paths/~1v1~1bulk~1jobs~1{id}~1upload-url"},
        "/bulk/jobs/{id}/results": {"$ref": "#/paths/~1v1~1bulk~1jobs~1{id}~1results"},
        "/bulk/uploads/{id}": {"$ref": "#/paths/~1v1~1bulk~1uploads~1{id}"},
        "/healthz": {
          "get": {
            "operationId": "health",
            "security": [],
            "responses": {
              "200": {"description": "Serving", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
              "503": {"description": "Shutting down", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
            }
          }
        },
        "/metrics": {
          "get": {
            "operationId": "metrics",
            "description": "Open, unless the server was started with --metrics-token: then it needs that token as a bearer token.",
            "security": [{}, {"metricsToken": []}],
            "responses": {
              "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}},
              "401": {"$ref": "#/components/responses/Unauthenticated"}
            }
          }
        },
        "/v1/openapi.json": {
          "get": {
            "operationId": "openAPI",
            "security": [],
            "responses": {
              "200": {"description": "This document", "content": {"application/json": {"schema": {"type": "object"}}}}
            }
          }
        }
      },
      "components": {
        "securitySchemes": {
          "bearer": {"type": "http", "scheme": "bearer"},
          "metricsToken": {"type": "http", "scheme": "bearer", "description": "The server's --metrics-token"}
        },
        "parameters": {
          "JobID": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
          "TenantID": {"name": "X-Tenant-ID", "in": "header", "description": "When present, it must name the token's tenant.", "schema": {"type": "string"}}
        },
        "schemas": {
          "JobState": {"type": "string", "enum": ["Open", "UploadComplete", "InProgress", "JobComplete", "Failed", "Aborted"]},
          "Job": {
            "type": "object",
            "properties": {
              "job_id": {"type": "string"},
              "state": {"$ref": "#/components/schemas/JobState"},
              "operation": {"type": "string", "enum": ["query", "insert", "update", "upsert", "delete"]},
              "object": {"type": "string"},
              "content_type": {"type": "string", "enum": ["CSV", "JSON", "RECORD_BATCH"]},
              "compression": {"type": "string", "enum": ["NONE", "GZIP"]},
              "query": {"type": "string"},
              "external_id_field": {"type": "string"},
              "created_at": {"type": "string", "format": "date-time"},
              "updated_at": {"type": "string", "format": "date-time"},
              "number_records_processed": {"type": "integer", "format": "int64"},
              "number_records_failed": {"type": "integer", "format": "int64"},
              "progress_percentage": {"type": "integer", "minimum": 0, "maximum": 100},
              "bytes_uploaded": {"type": "integer", "format": "int64"},
              "error_message": {"type": "string"},
              "tenant_id": {"type": "string"},
              "number_records_total": {"type": "integer", "format": "int64"},
              "total_processing_time_ms": {"type": "integer", "format": "int64"},
              "column_delimiter": {"type": "string"},
              "number_chunks": {"type": "integer"},
              "number_chunks_completed": {"type": "integer"}
            }
          },
          "JobList": {
            "type": "object",
            "properties": {
              "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
              "next_offset": {"type": "string", "description": "The offset of the next page; empty on the last page."}
            }
          },
          "CreateJobRequest": {
            "description": "The job to create: what it takes depends on its operation. A column_delimiter other than a comma needs content_type CSV. An optional field that is null or empty is absent.",
            "oneOf": [
              {"$ref": "#/components/schemas/CreateQueryJobRequest"},
              {"$ref": "#/components/schemas/CreateInsertJobRequest"},
              {"$ref": "#/components/schemas/CreateKeyedJobRequest"},
              {"$ref": "#/components/schemas/CreateUpsertJobRequest"}
            ],
            "discriminator": {
              "propertyName": "operation",
              "mapping": {
                "query": "#/components/schemas/CreateQueryJobRequest",
                "insert": "#/components/schemas/CreateInsertJobRequest",
                "update": "#/components/schemas/CreateKeyedJobRequest",
                "delete": "#/components/schemas/CreateKeyedJobRequest",
                "upsert": "#/components/schemas/CreateUpsertJobRequest"
              }
            }
          },
          "CreateQueryJobRequest": {
            "type": "object",
            "description": "A query job: its results are the statement's rows.",
            "additionalProperties": false,
            "properties": {
              "operation": {"type": "string", "enum": ["query"]},
              "object": {"$ref": "#/components/schemas/TableName"},
              "content_type": {"type": "string", "nullable": true, "enum": ["CSV", "JSON", "", null], "default": "CSV"},
              "column_delimiter": {"type": "string", "nullable": true, "enum": ["COMMA", "TAB", "PIPE", "SEMICOLON", "CARET", "BACKQUOTE", ",", "\t", "|", ";", "^", "`", "", null]},
              "request_id": {"type": "string", "nullable": true, "maxLength": 256, "description": "At most 256 bytes of UTF-8. A retried create with the same request_id returns the same job."},
              "query": {"type": "string", "nullable": true, "description": "The statement; empty, null or absent exports the whole object (SELECT * FROM \"<object>\")."},
              "compression": {"type": "string", "nullable": true, "enum": ["NONE", "", null], "description": "Query jobs take no upload."},
              "external_id_field": {"type": "string", "nullable": true, "maxLength": 0, "description": "Not allowed for this operation (empty or null means absent)."}
            },
            "required": ["operation", "object"],
            "anyOf": [
              {"properties": {"content_type": {"enum": ["CSV", "", null]}}},
              {"properties": {"column_delimiter": {"enum": ["COMMA", ",", "", null]}}}
            ]
          },
          "CreateInsertJobRequest": {
            "type": "object",
            "description": "An insert job.",
            "additionalProperties": false,
            "properties": {
              "operation": {"type": "string", "enum": ["insert"]},
              "object": {"$ref": "#/components/schemas/TableName"},
              "content_type": {"type": "string", "nullable": true, "enum": ["CSV", "JSON", "", null], "default": "CSV"},
              "column_delimiter": {"type": "string", "nullable": true, "enum": ["COMMA", "TAB", "PIPE", "SEMICOLON", "CARET", "BACKQUOTE", ",", "\t", "|", ";", "^", "`", "", null]},
              "request_id": {"type": "string", "nullable": true, "maxLength": 256, "description": "At most 256 bytes of UTF-8. A retried create with the same request_id returns the same job."},
              "compression": {"type": "string", "nullable": true, "enum": ["NONE", "GZIP", "", null], "default": "NONE"},
              "query": {"type": "string", "nullable": true, "maxLength": 0, "description": "Not allowed for this operation (empty or null means absent)."},
              "external_id_field": {"type": "string", "nullable": true, "maxLength": 0, "description": "Not allowed for this operation (empty or null means absent)."}
            },
            "required": ["operation", "object"],
            "anyOf": [
              {"properties": {"content_type": {"enum": ["CSV", "", null]}}},
              {"properties": {"column_delimiter": {"enum": ["COMMA", ",", "", null]}}}
            ]
          },
          "CreateKeyedJobRequest": {
            "type": "object",
            "description": "An update or delete job: rows are matched by external_id_field, by default the table's primary key.",
            "additionalProperties": false,
            "properties": {
              "operation": {"type": "string", "enum": ["update", "delete"]},
              "object": {"$ref": "#/components/schemas/TableName"},
              "content_type": {"type": "string", "nullable": true, "enum": ["CSV", "JSON", "", null], "default": "CSV"},
              "column_delimiter": {"type": "string", "nullable": true, "enum": ["COMMA", "TAB", "PIPE", "SEMICOLON", "CARET", "BACKQUOTE", ",", "\t", "|", ";", "^", "`", "", null]},
              "request_id": {"type": "string", "nullable": true, "maxLength": 256, "description": "At most 256 bytes of UTF-8. A retried create with the same request_id returns the same job."},
              "compression": {"type": "string", "nullable": true, "enum": ["NONE", "GZIP", "", null], "default": "NONE"},
              "query": {"type": "string", "nullable": true, "maxLength": 0, "description": "Not allowed for this operation (empty or null means absent)."},
              "external_id_field": {"type": "string", "nullable": true, "maxLength": 63, "pattern": "^([A-Za-z_][A-Za-z0-9_$]*)?$", "description": "The column rows are matched by; empty, null or absent means the primary key."}
            },
            "required": ["operation", "object"],
            "anyOf": [
              {"properties": {"content_type": {"enum": ["CSV", "", null]}}},
              {"properties": {"column_delimiter": {"enum": ["COMMA", ",", "", null]}}}
            ]
          },
          "CreateUpsertJobRequest": {
            "type": "object",
            "description": "An upsert job: rows are matched by external_id_field.",
            "additionalProperties": false,
            "properties": {
              "operation": {"type": "string", "enum": ["upsert"]},
              "object": {"$ref": "#/components/schemas/TableName"},
              "content_type": {"type": "string", "nullable": true, "enum": ["CSV", "JSON", "", null], "default": "CSV"},
              "column_delimiter": {"type": "string", "nullable": true, "enum": ["COMMA", "TAB", "PIPE", "SEMICOLON", "CARET", "BACKQUOTE", ",", "\t", "|", ";", "^", "`", "", null]},
              "request_id": {"type": "string", "nullable": true, "maxLength": 256, "description": "At most 256 bytes of UTF-8. A retried create with the same request_id returns the same job."},
              "compression": {"type": "string", "nullable": true, "enum": ["NONE", "GZIP", "", null], "default": "NONE"},
              "query": {"type": "string", "nullable": true, "maxLength": 0, "description": "Not allowed for this operation (empty or null means absent)."},
              "external_id_field": {"$ref": "#/components/schemas/ColumnName"}
            },
            "required": ["operation", "object", "external_id_field"],
            "anyOf": [
              {"properties": {"content_type": {"enum": ["CSV", "", null]}}},
              {"properties": {"column_delimiter": {"enum": ["COMMA", ",", "", null]}}}
            ]
          },
          "TableName": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[A-Za-z_][A-Za-z0-9_$]*$", "description": "A table name: a letter or _, then letters, digits, _ or $."},
          "ColumnName": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[A-Za-z_][A-Za-z0-9_$]*$"},
          "PageToken": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "description": "An opaque, unpadded base64url token."},
          "UpdateJobStateRequest": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"state": {"type": "string", "enum": ["UploadComplete", "Aborted"]}},
            "required": ["state"]
          },
          "UploadURL": {
            "type": "object",
            "properties": {
              "upload_url": {"type": "string"},
              "expires_at": {"type": "string", "format": "date-time"}
            }
          },
          "UploadReceipt": {
            "type": "object",
            "properties": {
              "job_id": {"type": "string"},
              "bytes_uploaded": {"type": "integer", "format": "int64"},
              "records_received": {"type": "integer", "format": "int64"}
            }
          },
          "Health": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["ok", "shutting_down"]}}
          },
          "Error": {
            "type": "object",
            "properties": {
              "error": {
                "type": "object",
                "properties": {
                  "code": {"type": "string", "example": "FAILED_PRECONDITION"},
                  "message": {"type": "string"}
                }
              }
            }
          }
        },
        "responses": {
          "InvalidArgument": {"description": "INVALID_ARGUMENT: a field or parameter is missing or invalid; the message names it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Unauthenticated": {"description": "UNAUTHENTICATED: no, malformed or unknown bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "PermissionDenied": {"description": "PERMISSION_DENIED: X-Tenant-ID is not the token's tenant, or an upload URL is tampered with or expired", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "NotFound": {"description": "NOT_FOUND: no such job for the caller", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Conflict": {"description": "FAILED_PRECONDITION (the job's state does not allow the call) or ALREADY_EXISTS (request_id reused with another body)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "TooLarge": {"description": "RESOURCE_EXHAUSTED: the upload is over the job's size, inflated size or ratio limit", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "UnsupportedMediaType": {"description": "INVALID_ARGUMENT: Content-Type or Content-Encoding does not fit the job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "OutOfRange": {"description": "OUT_OF_RANGE: Content-Range starts beyond the stored size, which the message gives", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "TooManyJobs": {"description": "RESOURCE_EXHAUSTED: the tenant has as many unfinished jobs as allowed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Internal": {"description": "INTERNAL: a fault of the server", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Unavailable": {"description": "UNAVAILABLE: the catalog or the staging store cannot be reached; retry", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    }
    """#
}
