#include "tests/support/fixture_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tidewatch::testing {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  const std::string want = lower(name) + ":";
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    std::size_t start = pos + 2;
    std::size_t end = head.find("\r\n", start);
    std::string line = head.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (lower(line.substr(0, want.size())) == want) {
      std::string v = line.substr(want.size());
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      return v;
    }
    pos = end;
  }
  return "";
}

HttpResponse httpRequest(const std::string& address, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body,
                         const std::vector<std::string>& headers, double timeout_s) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    throw std::runtime_error("httpRequest: not an IPv4 address: " + address);
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw std::runtime_error("httpRequest: socket: " + std::string(std::strerror(errno)));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    throw std::runtime_error("httpRequest: connect " + address + ":" + std::to_string(port) + ": " + std::strerror(errno));

  std::string req = method + " " + target + " HTTP/1.1\r\n";
  bool haveHost = false;
  for (const auto& h : headers) {
    if (lower(h.substr(0, 5)) == "host:") haveHost = true;
    req += h + "\r\n";
  }
  if (!haveHost) req += "Host: " + address + ":" + std::to_string(port) + "\r\n";
  req += "Connection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (std::size_t off = 0; off < req.size();) {
    ssize_t n = ::send(s.fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("httpRequest: send: " + std::string(std::strerror(errno)));
    off += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || errno == ECONNRESET) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // timed out: parse what we have
    throw std::runtime_error("httpRequest: recv: " + std::string(std::strerror(errno)));
  }
  HttpResponse r;
  std::size_t end = in.find("\r\n\r\n");
  if (in.rfind("HTTP/1.", 0) != 0 || end == std::string::npos)
    throw std::runtime_error("httpRequest: no HTTP response from " + address + ":" + std::to_string(port) +
                             " (got " + std::to_string(in.size()) + " bytes)");
  r.head = in.substr(0, end);
  r.body = in.substr(end + 4);
  r.status = std::atoi(in.c_str() + 9);
  return r;
}

std::string FixtureProcess::binaryPath() { return std::string(TIDEWATCH_BUILD_DIR) + "/fixture/tidewatch-fixture"; }

FixtureProcess::FixtureProcess() : FixtureProcess(Options{}) {}

FixtureProcess::FixtureProcess(Options options) { start(options); }

FixtureProcess::~FixtureProcess() {
  int status = stop();
  if (dir_.empty()) return;
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    // A crash or sanitizer report is in the log: show it and keep the directory.
    std::fprintf(stderr, "tidewatch-fixture did not exit cleanly (status %d); log %s:\n%s\n", status,
                 logPath().c_str(), readFile(logPath()).c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void FixtureProcess::start(const Options& options) {
  char tmpl[] = "/tmp/tw-fixture-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const std::string readyPath = dir_ + "/ready.json";
  std::vector<std::string> args = {binaryPath(),  "--ready-file", readyPath, "--ca-file", dir_ + "/ca.pem",
                                   "--http-port", "0", "--https-port", "0", "--control-port", "0",
                                   "--wpcom-port", "0", "--dns-port", "0", "--dns2-port", "0",
                                   "--fleet-count", std::to_string(options.fleet_count)};
  args.insert(args.end(), options.args.begin(), options.args.end());
  const std::string log = logPath();

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // The fixture must not outlive a crashed or killed test binary.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.ready_timeout_s);
  for (;;) {
    if (std::filesystem::exists(readyPath)) {
      ready_ = nlohmann::json::parse(readFile(readyPath));
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("tidewatch-fixture exited before it was ready: " + readFile(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("tidewatch-fixture not ready in time: " + readFile(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int FixtureProcess::stop() {
  if (pid_ <= 0) return exit_status_;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) {
      exit_status_ = status;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      exit_status_ = status;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return exit_status_;
}

std::uint16_t FixtureProcess::httpPort() const { return ready_.at("http").at("port").get<std::uint16_t>(); }
std::uint16_t FixtureProcess::httpsPort() const {
  return ready_.contains("https") ? ready_["https"].at("port").get<std::uint16_t>() : 0;
}
std::uint16_t FixtureProcess::controlPort() const { return ready_.at("control").at("port").get<std::uint16_t>(); }
std::uint16_t FixtureProcess::wpcomPort() const { return ready_.at("wpcom").at("port").get<std::uint16_t>(); }
std::uint16_t FixtureProcess::dnsPort(std::size_t i) const {
  const auto& d = ready_.at("dns");
  return i < d.size() ? d[i].at("port").get<std::uint16_t>() : 0;
}
std::string FixtureProcess::caFile() const {
  return ready_.at("ca_file").is_string() ? ready_["ca_file"].get<std::string>() : "";
}

std::string FixtureProcess::hostName(std::uint32_t id) const {
  const auto& f = ready_.at("fleet");
  char digits[32];
  std::snprintf(digits, sizeof digits, "%0*u", f.at("digits").get<int>(), id);
  return f.at("prefix").get<std::string>() + digits + f.at("suffix").get<std::string>();
}

std::string FixtureProcess::addressOf(std::uint32_t id) const {
  // Mirrors fixture/fleet.cpp fleetAddress(): 127.<base>.x.y with x.y = id mod count + 1.
  const auto& f = ready_.at("fleet");
  std::uint32_t n = std::max<std::uint32_t>(1, f.at("address_count").get<std::uint32_t>());
  std::uint32_t slot = id % n + 1;
  return "127." + std::to_string(f.at("base_octet").get<int>()) + "." + std::to_string((slot >> 8) & 0xff) + "." +
         std::to_string(slot & 0xff);
}

HttpResponse FixtureProcess::control(const std::string& method, const std::string& path, const std::string& body) const {
  return httpRequest("127.0.0.1", controlPort(), method, path, body);
}

nlohmann::json FixtureProcess::controlJson(const std::string& method, const std::string& path,
                                           const std::string& body) const {
  HttpResponse r = control(method, path, body);
  if (r.status != 200)
    throw std::runtime_error("fixture control " + method + " " + path + ": " + std::to_string(r.status) + " " + r.body);
  return nlohmann::json::parse(r.body);
}

std::string FixtureProcess::activate(const nlohmann::json& failure) const {
  return controlJson("POST", "/failures", failure.dump()).at("id").get<std::string>();
}

void FixtureProcess::deactivate(const std::string& id) const {
  controlJson("POST", "/deactivate", nlohmann::json{{"id", id}}.dump());
}

void FixtureProcess::deactivateAll() const { controlJson("POST", "/deactivate", R"({"all":true})"); }

nlohmann::json FixtureProcess::failures() const { return controlJson("GET", "/failures", "").at("failures"); }

void FixtureProcess::observerReset(const nlohmann::json& settings) const {
  controlJson("POST", "/observer/reset", settings.dump());
}

nlohmann::json FixtureProcess::observerSummary() const { return controlJson("GET", "/observer/summary", ""); }

nlohmann::json FixtureProcess::observerSite(std::uint32_t id) const {
  return controlJson("GET", "/observer/site?id=" + std::to_string(id), "");
}

nlohmann::json FixtureProcess::wpcomNotifications() const {
  return controlJson("GET", "/wpcom/notifications", "").at("notifications");
}

void FixtureProcess::wpcomReset() const { controlJson("POST", "/wpcom/reset", ""); }

void FixtureProcess::wpcomConfigure(const nlohmann::json& config) const {
  controlJson("POST", "/wpcom/config", config.dump());
}

}  // namespace tidewatch::testing
