#include "sbc/firmware/signed_config.h"

#include "sbc/mgmt/config/compile.h"

namespace sbc::firmware {

std::expected<VerifiedConfig, std::string> VerifyAndCompile(const mgmt::trust::Verifier& verifier,
                                                            const board::Board& board,
                                                            std::string_view envelope,
                                                            int64_t now_unix) {
  auto bundle = verifier.VerifyConfigBundle(envelope, now_unix);
  if (!bundle)
    return std::unexpected("refused (" +
                           std::string(mgmt::trust::RejectionName(bundle.error().reason)) +
                           "): " + bundle.error().message);
  std::vector<std::string> ports;
  for (const auto& port : board.ports()) ports.push_back(port.name());
  auto tables = mgmt::config::CompileConfig(bundle->config(), bundle->meta().version(), ports);
  if (!tables) {
    std::string message = "cannot compile: " + tables.error().front();
    if (tables.error().size() > 1)
      message += " (and " + std::to_string(tables.error().size() - 1) + " more)";
    return std::unexpected(message);
  }
  schema::SignedEnvelope parsed;
  parsed.ParseFromArray(envelope.data(), static_cast<int>(envelope.size()));
  return VerifiedConfig{.tables = std::move(*tables), .signatures = parsed.signatures_size()};
}

}  // namespace sbc::firmware
