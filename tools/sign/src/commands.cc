#include "commands.h"

#include <google/protobuf/text_format.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "files.h"
#include "firmware_commands.h"
#include "pkcs11_signer.h"
#include "sbc/mgmt/config/validate.h"
#include "sbc/mgmt/trust/envelope.h"
#include "sbc/mgmt/trust/keys.h"
#include "sbc/mgmt/trust/verifier.h"
#include "sbc/schema/text_file.h"
#include "times.h"

namespace sbc::tools {
namespace {

using mgmt::trust::PrivateKey;

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

std::expected<schema::Environment, std::string> ParseEnvironment(const std::string& text) {
  schema::Environment env;
  std::string upper;
  for (char c : text)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (!schema::Environment_Parse(upper, &env) || env == schema::ENVIRONMENT_UNSPECIFIED)
    return std::unexpected("environment \"" + text +
                           "\" is not one of development, staging, production");
  return env;
}

std::expected<schema::PayloadMeta, std::string> Meta(const PayloadArgs& args) {
  if (args.version == 0) return std::unexpected(std::string("--version must be at least 1"));
  auto env = ParseEnvironment(args.environment);
  if (!env) return std::unexpected(env.error());
  auto expires = ParseTime(args.expires, Now());
  if (!expires) return std::unexpected("--expires: " + expires.error());
  if (*expires <= Now()) return std::unexpected("--expires is in the past");
  schema::PayloadMeta meta;
  meta.set_version(args.version);
  meta.set_environment(*env);
  meta.set_target_serial(args.serial);
  meta.set_expires_unix(*expires);
  meta.set_created_unix(Now());
  meta.set_comment(args.comment);
  return meta;
}

int WriteEnvelope(const std::string& out, std::string_view type, const std::string& payload) {
  const schema::SignedEnvelope envelope = mgmt::trust::MakeEnvelope(type, payload);
  if (!Write(out, envelope.SerializeAsString())) return Error(kExitInput, out + ": cannot write");
  std::cout << "wrote unsigned " << type << " to " << out
            << "; sign it with: sbc-sign sign --key KEY --in " << out << std::endl;
  return kExitOk;
}

void PrintMeta(const schema::PayloadMeta& meta) {
  std::cout << "version:      " << meta.version() << "\n"
            << "environment:  " << schema::Environment_Name(meta.environment()) << "\n"
            << "serial:       " << (meta.target_serial().empty() ? "(any)" : meta.target_serial())
            << "\n"
            << "expires:      " << FormatTime(meta.expires_unix()) << "\n"
            << "created:      " << FormatTime(meta.created_unix()) << "\n";
  if (!meta.comment().empty()) std::cout << "comment:      " << meta.comment() << "\n";
}

}  // namespace

int Keygen(const KeygenArgs& args) {
  if (args.curve != "p256" && args.curve != "p384")
    return Error(kExitInput, "--curve must be p256 or p384");
  if (args.role != "config" && args.role != "firmware")
    return Error(kExitInput, "--role must be config or firmware");
  auto key = PrivateKey::Generate(args.curve == "p384" ? mgmt::trust::Curve::kP384
                                                       : mgmt::trust::Curve::kP256);
  if (!key) return Error(kExitRefused, key.error());
  if (auto ok = key->Save(args.out); !ok) return Error(kExitInput, ok.error());
  if (!args.public_out.empty() && !Write(args.public_out, key->PublicKeyPem()))
    return Error(kExitInput, args.public_out + ": cannot write");
  // A trust-root entry ready to paste, so the key id is never typed by hand.
  schema::TrustedKey entry;
  entry.set_key_id(key->KeyId());
  entry.set_public_key_pem(key->PublicKeyPem());
  entry.set_role(args.role == "firmware" ? schema::FIRMWARE : schema::CONFIG);
  entry.set_owner(args.owner);
  std::string text;
  google::protobuf::TextFormat::PrintToString(entry, &text);
  std::cout << "# key " << key->KeyId() << " written to " << args.out << " (mode 0600)\n"
            << "# trust root entry:\nkeys {\n"
            << text << "}\n";
  return kExitOk;
}

int MakeBundle(const PayloadArgs& args) {
  schema::ConfigBundle bundle;
  if (auto ok = schema::ParseTextFile(args.config, "config", bundle.mutable_config()); !ok) {
    for (const auto& line : ok.error()) std::cerr << "sbc-sign: " << line << "\n";
    return kExitInput;
  }
  if (auto errors = mgmt::config::ValidateConfig(bundle.config()); !errors.empty()) {
    for (const auto& line : errors)
      std::cerr << "sbc-sign: config " << args.config << ": " << line << "\n";
    return kExitInput;
  }
  auto meta = Meta(args);
  if (!meta) return Error(kExitInput, meta.error());
  *bundle.mutable_meta() = *meta;
  return WriteEnvelope(args.out, mgmt::trust::kConfigBundleType, bundle.SerializeAsString());
}

int MakeDowngrade(const PayloadArgs& args) {
  auto meta = Meta(args);
  if (!meta) return Error(kExitInput, meta.error());
  if (args.reason.empty())
    return Error(kExitInput, "--reason is required: it goes to the audit log");
  schema::DowngradeAuthorization auth;
  *auth.mutable_meta() = *meta;
  auth.set_reason(args.reason);
  return WriteEnvelope(args.out, mgmt::trust::kDowngradeType, auth.SerializeAsString());
}

namespace {

// The token's PIN: SBC_PKCS11_PIN, else one line of stdin (never an argument: argv is
// visible to every user of the machine).
std::string TokenPin() {
  if (const char* pin = std::getenv("SBC_PKCS11_PIN")) return pin;
  std::string pin;
  std::getline(std::cin, pin);
  return pin;
}

std::expected<std::unique_ptr<Pkcs11Signer>, std::string> OpenToken(const std::string& module,
                                                                    const std::string& token,
                                                                    const std::string& label) {
  if (module.empty() || token.empty() || label.empty())
    return std::unexpected(
        std::string("a token key needs --pkcs11-module, --token and --key-label"));
  return Pkcs11Signer::Open({module, token, label, TokenPin()});
}

}  // namespace

int Sign(const SignArgs& args) {
  const bool use_token = !args.pkcs11_module.empty();
  if (use_token == !args.key.empty())
    return Error(kExitInput, "give either --key or --pkcs11-module (with --token, --key-label)");
  auto bytes = Read(args.in);
  if (!bytes) return Error(kExitInput, bytes.error());
  schema::SignedEnvelope envelope;
  if (!envelope.ParseFromString(*bytes) || envelope.payload().empty())
    return Error(kExitInput, args.in + ": not a signed envelope");
  std::string key_id;
  if (use_token) {
    auto signer = OpenToken(args.pkcs11_module, args.token, args.key_label);
    if (!signer) return Error(kExitInput, "token " + args.token + ": " + signer.error());
    auto public_key = mgmt::trust::PublicKey::Parse((*signer)->PublicKeyPem());
    if (!public_key) return Error(kExitInput, public_key.error());
    const Pkcs11Signer& token = **signer;
    if (auto ok = mgmt::trust::AddSignature(envelope, *public_key,
                                            [&](std::string_view pae) { return token.Sign(pae); });
        !ok)
      return Error(kExitRefused, args.in + ": " + ok.error());
    key_id = token.KeyId();
  } else {
    auto key = PrivateKey::Load(args.key);
    if (!key) return Error(kExitInput, key.error());
    if (auto ok = mgmt::trust::AddSignature(envelope, *key); !ok)
      return Error(kExitRefused, args.in + ": " + ok.error());
    key_id = key->KeyId();
  }
  const std::string target = args.out.empty() ? args.in : args.out;
  if (!Write(target, envelope.SerializeAsString()))
    return Error(kExitInput, target + ": cannot write");
  std::cout << "signed " << target << " with key " << key_id << " (" << envelope.signatures_size()
            << " signature(s))" << std::endl;
  return kExitOk;
}

int KeyInfo(const KeyInfoArgs& args) {
  if (args.role != "config" && args.role != "firmware")
    return Error(kExitInput, "--role must be config or firmware");
  auto signer = OpenToken(args.pkcs11_module, args.token, args.key_label);
  if (!signer) return Error(kExitInput, "token " + args.token + ": " + signer.error());
  schema::TrustedKey entry;
  entry.set_key_id((*signer)->KeyId());
  entry.set_public_key_pem((*signer)->PublicKeyPem());
  entry.set_role(args.role == "firmware" ? schema::FIRMWARE : schema::CONFIG);
  entry.set_owner(args.owner);
  std::string text;
  google::protobuf::TextFormat::PrintToString(entry, &text);
  std::cout << "# key " << entry.key_id() << " in token " << args.token << " (label "
            << args.key_label << ")\n# trust root entry:\nkeys {\n"
            << text << "}\n";
  return kExitOk;
}

int Verify(const VerifyArgs& args) {
  schema::TrustRoot root;
  if (auto ok = schema::ParseTextFile(args.trust_root, "trust root", &root); !ok)
    return Error(kExitInput, ok.error().front());
  schema::ApplianceIdentity identity;
  identity.set_environment(root.environment());
  identity.set_serial(args.serial);
  auto verifier = mgmt::trust::Verifier::Create(root, identity);
  if (!verifier) return Error(kExitInput, args.trust_root + ": " + verifier.error());
  auto bytes = Read(args.in);
  if (!bytes) return Error(kExitInput, bytes.error());
  if (IsFirmware(*bytes))
    return VerifyFirmware({args.trust_root, args.in, args.board, args.min_rollback_index});
  schema::SignedEnvelope envelope;
  const bool is_downgrade =
      envelope.ParseFromString(*bytes) && envelope.payload_type() == mgmt::trust::kDowngradeType;
  if (is_downgrade) {
    auto auth = verifier->VerifyDowngrade(*bytes, Now());
    if (!auth)
      return Error(kExitRefused, args.in + ": refused (" +
                                     std::string(mgmt::trust::RejectionName(auth.error().reason)) +
                                     "): " + auth.error().message);
    std::cout << args.in << ": valid downgrade authorisation for version " << auth->meta().version()
              << std::endl;
    return kExitOk;
  }
  auto bundle = verifier->VerifyConfigBundle(*bytes, Now());
  if (!bundle)
    return Error(kExitRefused, args.in + ": refused (" +
                                   std::string(mgmt::trust::RejectionName(bundle.error().reason)) +
                                   "): " + bundle.error().message);
  std::cout << args.in << ": valid config bundle, version " << bundle->meta().version() << ", "
            << bundle->config().rules_size() << " rules, signed by " << envelope.signatures_size()
            << " key(s)" << std::endl;
  return kExitOk;
}

int Inspect(const std::string& in) {
  auto bytes = Read(in);
  if (!bytes) return Error(kExitInput, bytes.error());
  if (IsFirmware(*bytes)) return InspectFirmware(in, *bytes);
  schema::SignedEnvelope envelope;
  if (!envelope.ParseFromString(*bytes) || envelope.payload().empty())
    return Error(kExitInput, in + ": not a signed envelope");
  std::cout << "payload type: " << envelope.payload_type() << "\n"
            << "payload:      " << envelope.payload().size() << " bytes\n";
  for (const auto& sig : envelope.signatures())
    std::cout << "signature:    key " << sig.key_id() << "\n";
  if (envelope.signatures().empty()) std::cout << "signature:    (none)\n";
  if (envelope.payload_type() == mgmt::trust::kConfigBundleType) {
    schema::ConfigBundle bundle;
    if (!bundle.ParseFromString(envelope.payload()))
      return Error(kExitInput, in + ": payload is not a config bundle");
    PrintMeta(bundle.meta());
    std::string text;
    google::protobuf::TextFormat::PrintToString(bundle.config(), &text);
    std::cout << "config:\n" << text;
  } else if (envelope.payload_type() == mgmt::trust::kDowngradeType) {
    schema::DowngradeAuthorization auth;
    if (!auth.ParseFromString(envelope.payload()))
      return Error(kExitInput, in + ": payload is not a downgrade authorisation");
    PrintMeta(auth.meta());
    std::cout << "reason:       " << auth.reason() << "\n";
  }
  return kExitOk;
}

}  // namespace sbc::tools
