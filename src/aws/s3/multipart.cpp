#include "aws/s3/multipart.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "common/fs.h"
#include "storage/md5.h"

namespace sluice::aws::s3 {
namespace {

constexpr const char* kEtagAttribute = "user.sluice.etag";
constexpr const char* kUploadFile = "upload.json";
constexpr size_t kCopyPiece = 1 << 20;

std::string part_name(int number) {
  char name[16];
  std::snprintf(name, sizeof(name), "part-%05d", number);
  return name;
}

bool is_upload_id(std::string_view id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

server::HttpError no_such_upload(std::string_view id) {
  server::HttpError error(404, "NoSuchUpload",
                          "the specified multipart upload does not exist: upload id \"" +
                              std::string(id.substr(0, 100)) + "\" may be invalid, aborted or completed");
  error.details.emplace_back("UploadId", std::string(id.substr(0, 100)));
  return error;
}

TimePoint mtime_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return now_ms();
  return from_epoch_ms(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000);
}

// The MD5 of a part file: the recorded one, or computed from its bytes (a file system without xattrs).
std::string part_etag(const std::filesystem::path& path) {
  char buffer[64];
  const ssize_t n = ::getxattr(path.c_str(), kEtagAttribute, buffer, sizeof(buffer));
  if (n == 32) return std::string(buffer, 32);
  storage::Md5 md5;
  const auto size = std::filesystem::file_size(path);
  for (uint64_t offset = 0; offset < size; offset += kCopyPiece)
    md5.update(fs::read_file_range(path, offset, kCopyPiece));
  return md5.hex_digest();
}

Upload read_upload(const std::filesystem::path& dir) {
  const auto json = nlohmann::json::parse(fs::read_file(dir / kUploadFile), nullptr, false);
  if (!json.is_object()) throw Error("damaged multipart upload record " + (dir / kUploadFile).string());
  Upload upload;
  upload.id = dir.filename().string();
  upload.bucket = json.value("bucket", "");
  upload.key = json.value("key", "");
  upload.options.content_type = json.value("content_type", "");
  if (auto it = json.find("metadata"); it != json.end() && it->is_object())
    for (const auto& [name, value] : it->items())
      if (value.is_string()) upload.options.metadata[name] = value.get<std::string>();
  upload.initiated = from_epoch_ms(json.value("initiated_ms", int64_t{0}));
  return upload;
}

// The raw 16 bytes of an MD5 given in hex (for the multipart ETag, the MD5 of the parts' MD5s).
std::string hex_to_bytes(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return bytes;
}

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

}  // namespace

std::string random_hex(size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  while (out.size() < digits) {
    uint32_t value = device();
    for (int i = 0; i < 8 && out.size() < digits; ++i, value >>= 4) out.push_back(kDigits[value & 15]);
  }
  return out;
}

MultipartUploads::MultipartUploads(std::filesystem::path directory) : directory_(std::move(directory)) {
  if (!std::filesystem::is_directory(directory_)) fs::create_directories_durable(directory_);
  std::vector<std::filesystem::path> leftovers;
  for (const auto& upload : std::filesystem::directory_iterator(directory_)) {
    if (!upload.is_directory()) continue;
    for (const auto& file : std::filesystem::directory_iterator(upload.path()))
      if (file.path().filename().string().rfind(fs::kTempPrefix, 0) == 0) leftovers.push_back(file.path());
  }
  for (const auto& path : leftovers) std::filesystem::remove(path);
}

Upload MultipartUploads::create(std::string_view bucket, std::string_view key,
                                storage::WriteOptions options) {
  Upload upload;
  upload.id = random_hex(32);
  upload.bucket = std::string(bucket);
  upload.key = std::string(key);
  upload.options = std::move(options);
  upload.initiated = now_ms();
  const nlohmann::json record = {{"bucket", upload.bucket},
                                 {"key", upload.key},
                                 {"content_type", upload.options.content_type},
                                 {"metadata", upload.options.metadata},
                                 {"initiated_ms", to_epoch_ms(upload.initiated)}};
  fs::write_file_atomic(directory_ / upload.id / kUploadFile,
                        record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return upload;
}

Upload MultipartUploads::find(std::string_view id, std::string_view bucket, std::string_view key) const {
  if (!is_upload_id(id)) throw no_such_upload(id);
  const auto dir = directory_ / std::string(id);
  std::error_code ec;
  if (!std::filesystem::exists(dir / kUploadFile, ec)) throw no_such_upload(id);
  Upload upload = read_upload(dir);
  if (upload.bucket != bucket || upload.key != key) throw no_such_upload(id);
  return upload;
}

Part MultipartUploads::put_part(const Upload& upload, int number, server::BodyReader& body) {
  if (number < 1 || number > kMaxPartNumber) {
    server::HttpError error(
        400, "InvalidArgument",
        "part number must be an integer between 1 and 10000, got " + std::to_string(number));
    error.details.emplace_back("ArgumentName", "partNumber");
    throw error;
  }
  const auto dir = directory_ / upload.id;
  fs::TempFileWriter file(dir);
  storage::Md5 md5;
  std::string buffer(kCopyPiece, '\0');
  while (size_t n = body.read(buffer.data(), buffer.size())) {  // throws for a body that fails its checks
    md5.update(std::string_view(buffer.data(), n));
    file.write(std::string_view(buffer.data(), n));
  }
  Part part;
  part.number = number;
  part.etag = md5.hex_digest();
  part.size = file.size();
  part.path = dir / part_name(number);
  const auto temp = file.release_synced();
  ::setxattr(temp.c_str(), kEtagAttribute, part.etag.data(), part.etag.size(), 0);
  std::error_code ec;
  if (!std::filesystem::exists(dir / kUploadFile, ec)) {  // aborted or completed meanwhile
    std::filesystem::remove(temp, ec);
    throw no_such_upload(upload.id);
  }
  fs::rename_durable(temp, part.path);
  part.last_modified = mtime_of(part.path);
  return part;
}

std::vector<Part> MultipartUploads::parts(const Upload& upload) const {
  std::vector<Part> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(directory_ / upload.id, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != 10 || name.rfind("part-", 0) != 0) continue;
    Part part;
    part.number = std::atoi(name.c_str() + 5);
    part.path = it->path();
    part.size = std::filesystem::file_size(part.path);
    part.etag = part_etag(part.path);
    part.last_modified = mtime_of(part.path);
    found.push_back(std::move(part));
  }
  std::sort(found.begin(), found.end(), [](const Part& a, const Part& b) { return a.number < b.number; });
  return found;
}

std::vector<Upload> MultipartUploads::uploads(std::string_view bucket) const {
  std::vector<Upload> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_upload_id(it->path().filename().string()) || !std::filesystem::exists(it->path() / kUploadFile))
      continue;
    try {
      Upload upload = read_upload(it->path());
      if (upload.bucket == bucket) found.push_back(std::move(upload));
    } catch (const Error&) {
      // completed or aborted while listed, or damaged: not an upload in progress
    }
  }
  std::sort(found.begin(), found.end(), [](const Upload& a, const Upload& b) {
    return a.key != b.key ? a.key < b.key : a.initiated < b.initiated;
  });
  return found;
}

storage::ObjectInfo MultipartUploads::complete(const Upload& upload,
                                               const std::vector<std::pair<int, std::string>>& requested,
                                               storage::ObjectStore& objects) {
  if (requested.empty()) {
    throw server::HttpError(400, "MalformedXML", "CompleteMultipartUpload names no parts");
  }
  const auto stored = parts(upload);
  std::vector<const Part*> chosen;
  int previous = 0;
  for (const auto& [number, etag] : requested) {
    if (number <= previous) {
      throw server::HttpError(400, "InvalidPartOrder",
                              "the list of parts was not in ascending order: part " + std::to_string(number) +
                                  " after part " + std::to_string(previous));
    }
    previous = number;
    const auto it = std::find_if(stored.begin(), stored.end(),
                                 [wanted = number](const Part& p) { return p.number == wanted; });
    if (it == stored.end() || it->etag != unquote(etag)) {
      throw server::HttpError(400, "InvalidPart",
                              "part " + std::to_string(number) + " of upload " + upload.id +
                                  " was not found or its ETag does not match \"" +
                                  unquote(etag).substr(0, 64) + "\"");
    }
    chosen.push_back(&*it);
  }
  std::string md5s;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (i + 1 < chosen.size() && chosen[i]->size < kMinPartBytes) {
      server::HttpError error(400, "EntityTooSmall",
                              "part " + std::to_string(chosen[i]->number) + " is " +
                                  std::to_string(chosen[i]->size) +
                                  " bytes; every part but the last must be at least 5 MiB");
      error.details.emplace_back("ProposedSize", std::to_string(chosen[i]->size));
      error.details.emplace_back("MinSizeAllowed", std::to_string(kMinPartBytes));
      throw error;
    }
    md5s += hex_to_bytes(chosen[i]->etag);
  }
  storage::WriteOptions options = upload.options;
  options.etag = storage::md5_hex(md5s) + "-" + std::to_string(chosen.size());
  auto writer = objects.open_writer_with(upload.bucket, upload.key, options);
  for (const Part* part : chosen) {
    for (uint64_t offset = 0; offset < part->size; offset += kCopyPiece)
      writer->write(fs::read_file_range(part->path, offset, kCopyPiece));
  }
  auto info = writer->commit();
  abort(upload);
  return info;
}

void MultipartUploads::abort(const Upload& upload) {
  const auto dir = directory_ / upload.id;
  std::error_code ec;
  // The record goes first, so that the upload stops existing at once, whatever remains of its parts.
  std::filesystem::remove(dir / kUploadFile, ec);
  std::filesystem::remove_all(dir, ec);
  if (ec) throw SystemError("cannot remove the parts of multipart upload " + upload.id + ": " + ec.message());
  fs::fsync_dir(directory_);
}

}  // namespace sluice::aws::s3
