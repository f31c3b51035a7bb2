package import BulkProto
package import GRPCCore
internal import SwiftProtobuf

/// The standard server reflection service, `grpc.reflection.v1`, so that `grpcurl list` and
/// `grpcurl describe` work without the proto files. It answers from the descriptor set Codegen
/// embeds (`servedFileDescriptorSetBase64`) and needs no token.
package struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
  private let index: ReflectionIndex

  /// - Throws: when the embedded descriptor set cannot be read (a build problem).
  package init() throws {
    self.index = try ReflectionIndex(base64: servedFileDescriptorSetBase64)
  }

  package func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
    context: ServerContext
  ) async throws {
    for try await message in request {
      try await response.write(self.index.answer(message))
    }
  }
}

/// `grpc.reflection.v1alpha`, for clients older than v1 (grpcurl before 1.8.8, grpcio-reflection):
/// the same messages as v1 on the wire, so each is re-read as v1 and answered by it.
package struct ReflectionServiceV1Alpha: Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol {
  private let index: ReflectionIndex

  /// - Throws: when the embedded descriptor set cannot be read (a build problem).
  package init() throws {
    self.index = try ReflectionIndex(base64: servedFileDescriptorSetBase64)
  }

  package func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
    context: ServerContext
  ) async throws {
    for try await message in request {
      let current = try Grpc_Reflection_V1_ServerReflectionRequest(
        serializedBytes: try message.serializedBytes() as [UInt8]
      )
      let answer = self.index.answer(current)
      try await response.write(
        try Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: try answer.serializedBytes() as [UInt8])
      )
    }
  }
}
