#include "aws/sigv4/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace sluice::aws {
namespace {

// The service named by the credential "AKID/DATE/REGION/SERVICE/aws4_request" (nullopt when it has
// fewer parts). The access key id may itself hold no '/', so the fields are counted from the left.
std::optional<std::string_view> credential_service(std::string_view credential) {
  for (int slash = 0; slash < 3; ++slash) {
    const size_t at = credential.find('/');
    if (at == std::string_view::npos) return std::nullopt;
    credential.remove_prefix(at + 1);
  }
  return credential.substr(0, credential.find('/'));
}

}  // namespace

bool signed_for_service(const server::HttpRequest& head, std::string_view service) noexcept {
  try {
    if (const auto header = head.headers.find("Authorization"); header != head.headers.end()) {
      const std::string_view value = header->second;
      const size_t at = value.find("Credential=");
      if (at != std::string_view::npos) {
        std::string_view credential = value.substr(at + 11);
        credential = credential.substr(0, credential.find_first_of(", "));
        const auto named = credential_service(credential);
        return named && *named == service;
      }
    }
    if (const auto query = head.query.find("X-Amz-Credential"); query != head.query.end()) {
      const auto named = credential_service(query->second);
      return named && *named == service;
    }
    // Signature Version 2 names no service, and S3 is the only service that took it: botocore 1.29
    // still presigns S3 URLs with it unless told s3v4. Claimed so that S3 answers (and refuses) them.
    if (service == "s3") {
      if (const auto header = head.headers.find("Authorization"); header != head.headers.end())
        return header->second.rfind("AWS ", 0) == 0;
      return head.query.contains("AWSAccessKeyId") && head.query.contains("Signature");
    }
  } catch (...) {
    // Only allocation can fail here; an unclaimable request is simply not claimed.
  }
  return false;
}

namespace sigv4 {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Percent-decodes `text` ('+' stays '+'); a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && is_hex_digit(text[i + 1]) && is_hex_digit(text[i + 2])) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The path with "." and ".." segments and empty segments removed, as AWS's non-S3 services (and
// botocore's remove_dot_segments) canonicalise it; a trailing '/' is kept when anything remains.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> kept;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    start = end + 1;
  }
  std::string out = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (path.back() == '/' && !kept.empty()) out += '/';
  return out;
}

// Splits "a, b ,c" at `separator`, each part trimmed.
std::vector<std::string_view> split_trimmed(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(trim(text.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string> parse_signed_headers(std::string_view text) {
  if (text.empty()) throw MalformedSignature("SignedHeaders is empty");
  std::vector<std::string> names;
  for (std::string_view name : split_trimmed(text, ';')) {
    if (name.empty())
      throw MalformedSignature("SignedHeaders has an empty name: \"" + std::string(text) + "\"");
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    names.push_back(std::move(lower));
  }
  return names;
}

std::string checked_signature(std::string_view text) {
  if (!is_sha256_hex(text))
    throw MalformedSignature("Signature must be 64 hex digits, got \"" + std::string(text.substr(0, 80)) +
                             "\"");
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string digest(const EVP_MD* md, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out.data()), size);
}

}  // namespace

std::string CredentialScope::scope() const { return date + "/" + region + "/" + service + "/aws4_request"; }

CredentialScope parse_credential(std::string_view text) {
  // The access key id holds no '/', so the five fields are the parts between slashes.
  const std::vector<std::string_view> parts = split_trimmed(text, '/');
  if (parts.size() != 5 || parts[4] != "aws4_request")
    throw MalformedSignature("Credential must be AKID/DATE/REGION/SERVICE/aws4_request, got \"" +
                             std::string(text.substr(0, 200)) + "\"");
  if (parts[0].empty()) throw MalformedSignature("Credential has an empty access key id");
  if (parts[1].size() != 8 || !all_digits(parts[1]))
    throw MalformedSignature("Credential date must be YYYYMMDD, got \"" + std::string(parts[1]) + "\"");
  if (parts[2].empty() || parts[3].empty())
    throw MalformedSignature("Credential has an empty region or service: \"" +
                             std::string(text.substr(0, 200)) + "\"");
  return {std::string(parts[0]), std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

SignatureClaim parse_authorization(std::string_view value) {
  value = trim(value);
  const size_t space = value.find(' ');
  if (value.substr(0, space) != kAlgorithm)
    throw MalformedSignature("unsupported Authorization type \"" +
                             std::string(value.substr(0, std::min<size_t>(space, 40))) +
                             "\" (expected AWS4-HMAC-SHA256)");
  if (space == std::string_view::npos) throw MalformedSignature("Authorization has no Credential");
  std::optional<std::string_view> credential, headers, signature;
  for (std::string_view component : split_trimmed(value.substr(space + 1), ',')) {
    const size_t eq = component.find('=');
    const std::string_view name = trim(component.substr(0, eq));
    const std::string_view text =
        eq == std::string_view::npos ? std::string_view{} : trim(component.substr(eq + 1));
    std::optional<std::string_view>* slot = name == "Credential"      ? &credential
                                            : name == "SignedHeaders" ? &headers
                                            : name == "Signature"     ? &signature
                                                                      : nullptr;
    if (!slot || eq == std::string_view::npos)
      throw MalformedSignature("Authorization component \"" + std::string(component.substr(0, 60)) +
                               "\" is not Credential=, SignedHeaders= or Signature=");
    if (*slot) throw MalformedSignature("Authorization names " + std::string(name) + " twice");
    *slot = text;
  }
  if (!credential) throw MalformedSignature("Authorization has no Credential");
  if (!headers) throw MalformedSignature("Authorization has no SignedHeaders");
  if (!signature) throw MalformedSignature("Authorization has no Signature");
  SignatureClaim claim;
  claim.credential = parse_credential(*credential);
  claim.signed_headers = parse_signed_headers(*headers);
  claim.signed_headers_text = std::string(*headers);
  claim.signature = checked_signature(*signature);
  return claim;
}

std::optional<SignatureClaim> parse_presigned(const server::HttpRequest& request) {
  const auto& query = request.query;
  if (!query.contains("X-Amz-Signature") && !query.contains("X-Amz-Credential")) return std::nullopt;
  const auto required = [&](const char* name) -> const std::string& {
    const auto it = query.find(name);
    if (it == query.end())
      throw MalformedSignature(std::string("Query-string authentication requires the ") + name +
                               " parameter");
    return it->second;
  };
  if (required("X-Amz-Algorithm") != kAlgorithm)
    throw MalformedSignature("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  SignatureClaim claim;
  claim.presigned = true;
  claim.credential = parse_credential(required("X-Amz-Credential"));
  claim.amz_date = required("X-Amz-Date");
  if (!parse_amz_date(claim.amz_date))
    throw MalformedSignature("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  const std::string& expires = required("X-Amz-Expires");
  int64_t seconds = -1;
  const auto [end, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), seconds);
  if (ec != std::errc() || end != expires.data() + expires.size() || seconds < 0)
    throw MalformedSignature("X-Amz-Expires should be a number");
  if (seconds < 1) throw MalformedSignature("X-Amz-Expires must be non-negative");
  if (seconds > kMaxPresignedExpirySeconds)
    throw MalformedSignature("X-Amz-Expires must be less than a week (in seconds) that is 604800");
  claim.expires_seconds = seconds;
  claim.signed_headers_text = required("X-Amz-SignedHeaders");
  claim.signed_headers = parse_signed_headers(claim.signed_headers_text);
  claim.signature = checked_signature(required("X-Amz-Signature"));
  return claim;
}

std::string uri_encode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 2);
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_' ||
        u == '.' || u == '~' || (keep_slash && u == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view raw_path, bool s3) {
  if (s3) return raw_path.empty() ? "/" : std::string(raw_path);
  return uri_encode(remove_dot_segments(raw_path), true);
}

std::string canonical_query(std::string_view raw_query, bool presigned) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start <= raw_query.size() && !raw_query.empty()) {
    size_t end = raw_query.find('&', start);
    if (end == std::string_view::npos) end = raw_query.size();
    const std::string_view pair = raw_query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key = uri_encode(percent_decode(pair.substr(0, eq)), false);
    if (presigned && key == "X-Amz-Signature") continue;
    std::string value =
        eq == std::string_view::npos ? "" : uri_encode(percent_decode(pair.substr(eq + 1)), false);
    params.emplace_back(std::move(key), std::move(value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

std::string canonical_headers(const server::Headers& headers,
                              const std::vector<std::string>& signed_headers) {
  std::string out;
  for (const std::string& name : signed_headers) {
    const auto it = headers.find(name);
    if (it == headers.end()) throw MalformedSignature("signed header \"" + name + "\" is not in the request");
    out += name;
    out += ':';
    // botocore's ' '.join(value.split()): runs of whitespace become one space, ends trimmed.
    bool pending_space = false;
    for (const char c : it->second) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        pending_space = true;
        continue;
      }
      if (pending_space && out.back() != ':') out += ' ';
      pending_space = false;
      out += c;
    }
    out += '\n';
  }
  return out;
}

std::string canonical_request(const server::HttpRequest& request, const SignatureClaim& claim,
                              std::string_view payload_hash, bool s3) {
  std::string out = request.method;
  out += '\n';
  out += canonical_uri(request.raw_path, s3);
  out += '\n';
  out += canonical_query(request.raw_query, claim.presigned);
  out += '\n';
  out += canonical_headers(request.headers, claim.signed_headers);
  out += '\n';
  for (size_t i = 0; i < claim.signed_headers.size(); ++i) {
    if (i > 0) out += ';';
    out += claim.signed_headers[i];
  }
  out += '\n';
  out += payload_hash;
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256_hex(canonical_request);
  return out;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  const std::string date_key = hmac_sha256("AWS4" + std::string(secret), date);
  const std::string region_key = hmac_sha256(date_key, region);
  const std::string service_key = hmac_sha256(region_key, service);
  return hmac_sha256(service_key, "aws4_request");
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &size);
  return std::string(reinterpret_cast<const char*>(out.data()), size);
}

std::string sha256(std::string_view data) { return digest(EVP_sha256(), data); }

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(kHex[u >> 4]);
    out.push_back(kHex[u & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) { return hex(sha256(data)); }

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  return hex(hmac_sha256(signing_key, string_to_sign));
}

bool is_sha256_hex(std::string_view text) noexcept {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), is_hex_digit);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<int64_t> parse_amz_date(std::string_view text) noexcept {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  if (!all_digits(text.substr(0, 8)) || !all_digits(text.substr(9, 6))) return std::nullopt;
  const auto number = [&](size_t at, size_t size) {
    int value = 0;
    for (size_t i = at; i < at + size; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  const int year = number(0, 4), month = number(4, 2), day = number(6, 2);
  const int hour = number(9, 2), minute = number(11, 2), second = number(13, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         hour * 3600 + minute * 60 + second;
}

}  // namespace sigv4
}  // namespace sluice::aws
