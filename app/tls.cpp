#include "app/tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <memory>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "messages/network.hpp"

extern char** environ;

namespace rros::app {

namespace {

/// OpenSSL's last error as text (its queue emptied).
std::string openssl_error() {
  std::string text;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf; // the last one is the most specific
  }
  return text.empty() ? std::string{"unknown OpenSSL error"} : text;
}

caf::error bad_file(const std::string& what, const std::string& path,
                    const std::string& why) {
  return make_error(ec::invalid_argument,
                    "TLS " + what + " '" + path + "': " + why);
}

/// Never asks for a passphrase (an encrypted key is refused, not prompted
/// for on a node's terminal).
int no_passphrase(char*, int, int, void*) {
  return 0;
}

} // namespace

caf::error check_tls_files(const TlsFiles& tls) {
  if (tls.certificate.empty() || tls.key.empty() || tls.ca.empty())
    return make_error(ec::invalid_argument,
                      "TLS needs a certificate, its key and the cluster CA "
                      "together (--tls-cert, --tls-key, --tls-ca)");
  const std::pair<const char*, const std::string*> files[] = {
      {"certificate", &tls.certificate},
      {"key", &tls.key},
      {"CA file", &tls.ca}};
  for (const auto& [what, path] : files) {
    struct stat info;
    if (::stat(path->c_str(), &info) != 0 || ::access(path->c_str(), R_OK))
      return bad_file(what, *path, std::strerror(errno));
    if (!S_ISREG(info.st_mode))
      return bad_file(what, *path, "not a file");
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
      SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return make_error(ec::invalid_argument, "TLS: " + openssl_error());
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.c_str()) !=
      1)
    return bad_file("certificate", tls.certificate,
                    "not a PEM certificate (" + openssl_error() + ")");
  // Alone first, so that a key of another certificate is told apart from a
  // file that is no key (OpenSSL 3 refuses both when loading).
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> key_only{
      SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!key_only)
    return make_error(ec::invalid_argument, "TLS: " + openssl_error());
  SSL_CTX_set_default_passwd_cb(key_only.get(), no_passphrase);
  if (SSL_CTX_use_PrivateKey_file(key_only.get(), tls.key.c_str(),
                                  SSL_FILETYPE_PEM) != 1)
    return bad_file("key", tls.key,
                    "not an unencrypted PEM private key (" + openssl_error() +
                        ")");
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(),
                                  SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return bad_file("key", tls.key,
                    "does not belong to the certificate '" + tls.certificate +
                        "'");
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return bad_file("CA file", tls.ca,
                    "not a PEM CA certificate (" + openssl_error() + ")");
  // The peers check our certificate against the same CA: say now when it
  // would fail (another cluster's certificate, an expired one).
  X509* leaf = SSL_CTX_get0_certificate(ctx.get());
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify{
      X509_STORE_CTX_new(), X509_STORE_CTX_free};
  if (!verify ||
      X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx.get()), leaf,
                          chain) != 1)
    return make_error(ec::invalid_argument, "TLS: " + openssl_error());
  if (X509_verify_cert(verify.get()) != 1)
    return bad_file("certificate", tls.certificate,
                    std::string{"not valid under the CA '"} + tls.ca + "': " +
                        X509_verify_cert_error_string(
                            X509_STORE_CTX_get_error(verify.get())));
  return caf::none;
}

void configure_network(caf::actor_system_config& cfg, const TlsFiles& tls) {
  cfg.load<caf::io::middleman>();
  use_rros_network(cfg);
  if (!tls.enabled())
    return;
  cfg.load<caf::openssl::manager>();
  // With a certificate, CAF's session requires and verifies the peer's
  // certificate against the CA on both sides (no anonymous cipher).
  cfg.openssl_certificate = tls.certificate;
  cfg.openssl_key = tls.key;
  cfg.openssl_cafile = tls.ca;
}

bool is_loopback_host(const std::string& host) {
  // Parsed, not matched by prefix: "127.example.com" is a name that may
  // resolve anywhere.
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

// -- rros certs init
// ----------------------------------------------------------

namespace {

/// Runs `openssl args...` with its output appended to `log`; the exit
/// status, or -1 when openssl cannot be started (errno set).
int run_openssl(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> copy{"openssl"};
  copy.insert(copy.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : copy)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc =
      posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string last_line_of(const std::string& path) {
  std::ifstream in{path};
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty())
      last = line;
  return last;
}

/// Eight random hex digits: two clusters' CAs never share a name.
std::string random_tag() {
  unsigned char bytes[4] = {};
  std::ifstream in{"/dev/urandom", std::ios::binary};
  in.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  char text[9];
  std::snprintf(text, sizeof text, "%02x%02x%02x%02x", bytes[0], bytes[1],
                bytes[2], bytes[3]);
  return text;
}

} // namespace

int run_certs_init(const std::string& dir) {
  auto fail = [](const std::string& message) {
    std::cerr << "rros certs: " << message << "\n";
    return 2;
  };
  struct stat info;
  if (::stat(dir.c_str(), &info) == 0) {
    if (!S_ISDIR(info.st_mode))
      return fail("'" + dir + "' is not a directory");
    if (::stat((dir + "/ca.pem").c_str(), &info) == 0)
      return fail("'" + dir +
                  "' holds a CA already (ca.pem); remove it or choose "
                  "another directory");
  } else if (::mkdir(dir.c_str(), 0700) != 0) {
    return fail("cannot make '" + dir + "': " + std::strerror(errno));
  }
  auto log = dir + "/openssl.log";
  auto step = [&](const char* what,
                  const std::vector<std::string>& args) -> bool {
    auto rc = run_openssl(args, log);
    if (rc == -1) {
      std::cerr << "rros certs: cannot run openssl (" << std::strerror(errno)
                << "; install the openssl package)\n";
      return false;
    }
    if (rc != 0) {
      std::cerr << "rros certs: openssl failed making " << what << ": "
                << last_line_of(log) << " (see " << log << ")\n";
      return false;
    }
    return true;
  };
  const std::vector<std::string> ec_key = {
      "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  auto with = [](std::vector<std::string> a,
                 const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  auto ca = dir + "/ca.pem";
  auto ca_key = dir + "/ca-key.pem";
  if (!step("the cluster CA",
            with(with({"req", "-x509"}, ec_key),
                 {"-keyout", ca_key, "-out", ca, "-days", "3650", "-subj",
                  "/CN=rros cluster CA " + random_tag(), "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign"})))
    return 2;
  // Every leaf may serve and connect: a node is both to its peers.
  auto ext = dir + "/leaf.ext";
  {
    std::ofstream out{ext};
    out << "basicConstraints=critical,CA:FALSE\n"
           "keyUsage=critical,digitalSignature,keyEncipherment\n"
           "extendedKeyUsage=serverAuth,clientAuth\n";
  }
  for (std::string role : {"node", "client", "admin"}) {
    auto csr = dir + "/" + role + ".csr";
    auto key = dir + "/" + role + "-key.pem";
    auto cert = dir + "/" + role + ".pem";
    if (!step(role.c_str(), with(with({"req", "-new"}, ec_key),
                                 {"-keyout", key, "-out", csr, "-subj",
                                  "/CN=rros-" + role})) ||
        !step(role.c_str(), {"x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
                             ca_key, "-CAcreateserial", "-out", cert, "-days",
                             "825", "-extfile", ext}))
      return 2;
    ::unlink(csr.c_str());
    ::chmod(key.c_str(), 0600);
  }
  ::chmod(ca_key.c_str(), 0600);
  ::unlink(ext.c_str());
  ::unlink(log.c_str());
  std::cout
      << "rros certs: a cluster CA and node, client and admin certificates in "
      << dir << "\n"
      << "  ca.pem                      the cluster CA (every node and "
         "client: --tls-ca)\n"
      << "  ca-key.pem                  the CA's key: signs more "
         "certificates; keep it off the nodes\n"
      << "  node.pem, node-key.pem      rros node --tls-cert " << dir
      << "/node.pem --tls-key " << dir << "/node-key.pem --tls-ca " << dir
      << "/ca.pem\n"
      << "  client.pem, client-key.pem  rros status|alloc|... --tls-cert "
      << dir << "/client.pem --tls-key " << dir << "/client-key.pem --tls-ca "
      << dir << "/ca.pem\n"
      << "  admin.pem, admin-key.pem    the same for an operator's "
         "commands\n";
  return 0;
}

} // namespace rros::app
