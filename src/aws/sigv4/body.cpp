#include "aws/sigv4/body.h"

namespace sluice::aws {
namespace {

// Placeholder until the SigV4 work lands: the body as received.
class PassThrough final : public server::BodyReader {
 public:
  explicit PassThrough(server::BodyReader& body) : body_(body) {}
  size_t read(char* out, size_t max) override { return body_.read(out, max); }
  std::optional<uint64_t> declared_size() const override { return body_.declared_size(); }
  uint64_t bytes_read() const override { return body_.bytes_read(); }

 private:
  server::BodyReader& body_;
};

}  // namespace

std::unique_ptr<server::BodyReader> verified_body(const server::RouteRequest& request,
                                                  const SigV4Authenticator*) {
  return std::make_unique<PassThrough>(*request.body);
}

}  // namespace sluice::aws
