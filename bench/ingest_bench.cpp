// Ingest load generator (a plain program; figures go to bench/RESULTS.md, never into tests).
//
//   ingest_bench native HOST PORT STREAM SECONDS CONNECTIONS [RATE]
//   ingest_bench kinesis HOST PORT STREAM SECONDS CONNECTIONS [RATE]
//   ingest_bench kinesis-create HOST PORT STREAM SHARDS
//
// Each connection is a keep-alive HTTP/1.1 connection on its own thread sending requests of 500
// records of ~200 bytes of JSON, one after the other (closed loop), or paced to RATE records/s in
// total (open loop: latency is measured from the moment a request was due, so a slow server cannot
// hide its queueing). `native` posts NDJSON to sluice's POST /v1/streams/STREAM/records; `kinesis`
// sends the same records as Kinesis PutRecords (JSON, base64 data) to a Kinesis-compatible endpoint
// such as kinesalite: the same client, the same records, the same connections, for both.
// Prints acknowledged records/s, MB/s and the acknowledgement latency percentiles of the requests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Steady = std::chrono::steady_clock;

std::string base64(const std::string& in) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A ~200-byte JSON record.
std::string record(uint64_t id) {
  std::string r =
      "{\"id\":" + std::to_string(id) +
      ",\"name\":\"Leanne Graham\",\"email\":\"Sincere@april.biz\",\"city\":\"Gwenborough\","
      "\"lat\":-37.3159,\"lng\":81.1496,\"company\":\"Romaguera-Crona\",\"phrase\":\"Multi-layered "
      "client-server\"}";
  r.insert(r.size() - 1, ",\"pad\":\"" + std::string(r.size() < 190 ? 190 - r.size() : 1, 'x') + "\"");
  return r;
}

class Connection {
 public:
  Connection(const std::string& host, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("connect");
      std::exit(1);
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Connection() { ::close(fd_); }

  // Sends one request; returns the status and the body of the response.
  int round_trip(const std::string& request, std::string* body) {
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return -1;
      sent += static_cast<size_t>(n);
    }
    std::string in;
    char buffer[65536];
    size_t header_end = std::string::npos, length = 0;
    while (true) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return -1;
      in.append(buffer, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        std::string headers = in.substr(0, header_end);
        std::transform(headers.begin(), headers.end(), headers.begin(), ::tolower);
        const auto at = headers.find("content-length:");
        length = at == std::string::npos ? 0 : std::stoul(headers.substr(at + 15));
      }
      if (in.size() >= header_end + 4 + length) break;
    }
    if (body) *body = in.substr(header_end + 4, length);
    return std::atoi(in.c_str() + 9);
  }

 private:
  int fd_ = -1;
};

std::string http_post(const std::string& host, int port, const std::string& path, const std::string& body,
                      const std::string& extra_headers) {
  return "POST " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
         "\r\nConnection: keep-alive\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra_headers + "\r\n" + body;
}

const char* kKinesisHeaders =
    "Content-Type: application/x-amz-json-1.1\r\nAuthorization: AWS4-HMAC-SHA256 "
    "Credential=AKIDEXAMPLE/20261124/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, "
    "Signature=0000000000000000000000000000000000000000000000000000000000000000\r\nX-Amz-Date: "
    "20261124T000000Z\r\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: see the header of bench/ingest_bench.cpp\n");
    return 2;
  }
  const std::string mode = argv[1], host = argv[2], stream = argv[4];
  const int port = std::atoi(argv[3]);
  if (mode == "kinesis-create") {
    const int shards = argc > 5 ? std::atoi(argv[5]) : 1;
    Connection c(host, port);
    std::string body;
    const std::string create =
        "{\"StreamName\":\"" + stream + "\",\"ShardCount\":" + std::to_string(shards) + "}";
    int status = c.round_trip(
        http_post(host, port, "/", create,
                  std::string(kKinesisHeaders) + "X-Amz-Target: Kinesis_20131202.CreateStream\r\n"),
        &body);
    std::printf("CreateStream: %d %s\n", status, body.c_str());
    for (int i = 0; i < 100; ++i) {  // wait until ACTIVE
      status = c.round_trip(
          http_post(host, port, "/", "{\"StreamName\":\"" + stream + "\"}",
                    std::string(kKinesisHeaders) + "X-Amz-Target: Kinesis_20131202.DescribeStream\r\n"),
          &body);
      if (body.find("\"ACTIVE\"") != std::string::npos) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::fprintf(stderr, "the stream did not become ACTIVE: %s\n", body.c_str());
    return 1;
  }
  const double seconds = std::atof(argv[5]);
  const int connections = std::atoi(argv[6]);
  const double rate = argc > 7 ? std::atof(argv[7]) : 0;  // records/s in total; 0: closed loop
  constexpr int kBatch = 500;

  std::atomic<uint64_t> next_id{0}, acknowledged{0}, bytes{0}, failures{0};
  std::mutex latencies_mutex;
  std::vector<double> latencies;
  const auto start = Steady::now();
  const auto end =
      start + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      Connection c(host, port);
      std::vector<double> mine;
      const double interval = rate > 0 ? kBatch * connections / rate : 0;  // seconds between requests
      auto due = start + std::chrono::duration_cast<Steady::duration>(
                             std::chrono::duration<double>(interval * t / std::max(1, connections)));
      std::string body;
      while (Steady::now() < end) {
        if (rate > 0) {
          std::this_thread::sleep_until(due);
        } else {
          due = Steady::now();
        }
        std::string payload;
        uint64_t size = 0;
        const uint64_t first = next_id.fetch_add(kBatch);
        if (mode == "native") {
          for (int i = 0; i < kBatch; ++i) {
            const std::string r = record(first + i);
            size += r.size();
            payload += r;
            payload += '\n';
          }
          payload = http_post(host, port, "/v1/streams/" + stream + "/records", payload, "");
        } else {
          payload = "{\"StreamName\":\"" + stream + "\",\"Records\":[";
          for (int i = 0; i < kBatch; ++i) {
            const std::string r = record(first + i);
            size += r.size();
            payload += (i ? ",{\"Data\":\"" : "{\"Data\":\"") + base64(r) + "\",\"PartitionKey\":\"" +
                       std::to_string(first + i) + "\"}";
          }
          payload += "]}";
          payload = http_post(host, port, "/", payload,
                              std::string(kKinesisHeaders) + "X-Amz-Target: Kinesis_20131202.PutRecords\r\n");
        }
        const int status = c.round_trip(payload, &body);
        const double latency = std::chrono::duration<double, std::milli>(Steady::now() - due).count();
        const bool all_taken = body.find("\"FailedRecordCount\":0") != std::string::npos ||
                               body.find("\"failed_record_count\":0") != std::string::npos;
        if (status != 200 || !all_taken) {
          if (failures.fetch_add(1) < 3)
            std::fprintf(stderr, "request failed: %d %.200s\n", status, body.c_str());
          if (status < 0) return;
          continue;
        }
        acknowledged += kBatch;
        bytes += size;
        mine.push_back(latency);
        due += std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(interval));
      }
      std::lock_guard lock(latencies_mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty()
               ? 0.0
               : latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()))];
  };
  std::printf(
      "%s %s %d connections%s: %llu records in %.1f s = %.0f records/s, %.1f MB/s; request ack p50 %.2f ms, "
      "p99 %.2f ms, max %.2f ms; %llu failed requests\n",
      mode.c_str(), stream.c_str(), connections,
      rate > 0 ? (", paced at " + std::to_string(static_cast<long>(rate)) + " records/s").c_str() : "",
      static_cast<unsigned long long>(acknowledged.load()), elapsed, acknowledged / elapsed,
      bytes / elapsed / 1e6, pct(0.5), pct(0.99), latencies.empty() ? 0.0 : latencies.back(),
      static_cast<unsigned long long>(failures.load()));
  return 0;
}
