package import GRPCCore
internal import Metrics

/// Counts RPCs by method and status code and times them, through swift-metrics.
package struct MetricsInterceptor: ServerInterceptor {
  package init() {}

  package func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let method = context.descriptor.method
    let started = ContinuousClock.now
    let response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      Self.record(method: method, code: (error as? RPCError)?.code.description ?? "unknown", since: started)
      throw error
    }
    switch response.accepted {
    case .failure(let error):
      Self.record(method: method, code: error.code.description, since: started)
    case .success(var contents):
      // Streaming responses finish after `next` returns: time them to the end of the stream.
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          Self.record(method: method, code: "ok", since: started)
          return trailers
        } catch {
          Self.record(method: method, code: (error as? RPCError)?.code.description ?? "unknown", since: started)
          throw error
        }
      }
      var accepted = response
      accepted.accepted = .success(contents)
      return accepted
    }
    return response
  }

  private static func record(method: String, code: String, since started: ContinuousClock.Instant) {
    Counter(label: "spectra_grpc_requests_total", dimensions: [("method", method), ("code", code)]).increment()
    Metrics.Timer(label: "spectra_grpc_request_duration_seconds", dimensions: [("method", method)])
      .record(duration: ContinuousClock.now - started)
  }
}
