#include "server/authenticator.h"

#include <stdexcept>

namespace sluice::server {

BearerTokenAuthenticator::BearerTokenAuthenticator(std::string token) : expected_("Bearer " + token) {
  if (token.empty()) throw std::invalid_argument("a bearer token cannot be empty");
}

std::string BearerTokenAuthenticator::authenticate(const HttpRequest& request) const {
  const auto it = request.headers.find("Authorization");
  const std::string& presented = it == request.headers.end() ? std::string() : it->second;
  // Compared in constant time: how long the comparison takes must not tell how much of a guess was
  // right.
  unsigned char diff = presented.size() == expected_.size() ? 0 : 1;
  for (size_t i = 0; i < expected_.size(); ++i)
    diff |= static_cast<unsigned char>(expected_[i] ^ (i < presented.size() ? presented[i] : 0));
  if (diff == 0) return "bearer";
  HttpError refusal(401, "Unauthorized", "missing or wrong credentials: send Authorization: Bearer TOKEN");
  refusal.headers["WWW-Authenticate"] = "Bearer";
  throw refusal;
}

}  // namespace sluice::server
