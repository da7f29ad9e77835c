// The body of a streamed S3 request as the client meant it: aws-chunked framing removed, chunk
// signatures and trailing checksums verified, the declared payload hash (x-amz-content-sha256) and
// Content-MD5 / x-amz-checksum-* headers checked.
#pragma once

#include <memory>

#include "server/router.h"

namespace sluice::aws {

class SigV4Authenticator;

// A reader of `request`'s decoded body (request.body must be set: a stream_body route). Every check
// that needs the whole body happens when the body ends: read() then throws server::HttpError in S3's
// terms (400 BadDigest, XAmzContentSHA256Mismatch, SignatureDoesNotMatch, IncompleteBody, ...)
// instead of returning 0, so a handler that commits only after read() returned 0 never keeps a body
// that failed. `authenticator` null: no signature is checked (anonymous loopback), checksums still are.
// Throws HttpError at once (before any read) when the headers cannot be honoured: 400 InvalidDigest (a
// Content-MD5 that is not an MD5), 400 InvalidRequest (x-amz-trailer naming an unknown checksum), 400
// InvalidArgument (a STREAMING- mode S3 does not know, a non-numeric x-amz-decoded-content-length),
// 403 SignatureDoesNotMatch (signed chunks on a request that was not signed with a header).
std::unique_ptr<server::BodyReader> verified_body(const server::RouteRequest& request,
                                                  const SigV4Authenticator* authenticator);

}  // namespace sluice::aws
