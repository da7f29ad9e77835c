// Authentication of HTTP requests, a step every route of a group passes (see server/router.h): the
// daemon's bearer token today, AWS SigV4 for the AWS front-ends later.
#pragma once

#include <string>

#include "server/http_server.h"

namespace sluice::server {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Returns who sent `request` (a name for logs and handlers: "bearer", an access key id). Throws
  // HttpError when its credentials are missing or wrong: a 401 or 403 with the protocol's code, and
  // the headers the answer needs (WWW-Authenticate). For a route that streams its body, nothing of the
  // body has been read yet (request.body is empty): only the head can be checked. Called on worker
  // threads, several at once: must be thread-safe.
  virtual std::string authenticate(const HttpRequest& request) const = 0;
};

// The daemon's native credentials: "Authorization: Bearer TOKEN", compared in constant time.
class BearerTokenAuthenticator final : public Authenticator {
 public:
  // Throws std::invalid_argument when `token` is empty (that would accept "Bearer ").
  explicit BearerTokenAuthenticator(std::string token);
  // Returns "bearer" when the request carries the token. Throws HttpError 401 "Unauthorized" ("missing
  // or wrong credentials: send Authorization: Bearer TOKEN", with WWW-Authenticate: Bearer) otherwise.
  std::string authenticate(const HttpRequest& request) const override;

 private:
  std::string expected_;  // "Bearer TOKEN"
};

}  // namespace sluice::server
