// sbc-sign's subcommands. Each returns the process exit code and prints its own
// result (stdout) or one-line errors (stderr).
#pragma once

#include <cstdint>
#include <string>

namespace sbc::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;  // verification failed
inline constexpr int kExitInput = 2;    // bad arguments or unreadable input

struct KeygenArgs {
  std::string out;
  std::string curve = "p256";
  std::string public_out;
  std::string owner;
  std::string role = "config";
};
int Keygen(const KeygenArgs& args);

struct PayloadArgs {
  std::string config;  // bundle only
  uint64_t version = 0;
  std::string environment;
  std::string expires;
  std::string serial;
  std::string comment;
  std::string reason;  // downgrade only
  std::string out;
};
int MakeBundle(const PayloadArgs& args);
int MakeDowngrade(const PayloadArgs& args);

struct SignArgs {
  std::string key;                              // a PEM key file, or:
  std::string pkcs11_module, token, key_label;  // a key in a PKCS#11 token
  std::string in;
  std::string out;
};
int Sign(const SignArgs& args);

struct KeyInfoArgs {
  std::string pkcs11_module, token, key_label;
  std::string role = "firmware";
  std::string owner;
};
// Prints the trust root entry of a token's key (the key ceremony's output).
int KeyInfo(const KeyInfoArgs& args);

struct VerifyArgs {
  std::string trust_root;
  std::string in;
  std::string serial;
  std::string board;  // firmware only
  uint64_t min_rollback_index = 0;
};
int Verify(const VerifyArgs& args);

int Inspect(const std::string& in);

}  // namespace sbc::tools
