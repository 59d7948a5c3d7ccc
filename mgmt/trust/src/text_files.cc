#include "sbc/mgmt/trust/text_files.h"

#include "sbc/schema/text_file.h"

namespace sbc::mgmt::trust {

std::expected<Verifier, std::string> LoadVerifier(const std::filesystem::path& key_store) {
  schema::TrustRoot root;
  if (auto ok = schema::ParseTextFile(key_store / kTrustRootFile, "trust root", &root); !ok)
    return std::unexpected(ok.error().front());
  schema::ApplianceIdentity identity;
  if (auto ok = schema::ParseTextFile(key_store / kIdentityFile, "identity", &identity); !ok)
    return std::unexpected(ok.error().front());
  auto verifier = Verifier::Create(root, identity);
  if (!verifier)
    return std::unexpected((key_store / kTrustRootFile).string() + ": " + verifier.error());
  return verifier;
}

}  // namespace sbc::mgmt::trust
