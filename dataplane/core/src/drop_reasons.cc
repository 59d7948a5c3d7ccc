#include "sbc/dataplane/core/drop_reasons.h"

#include <array>
#include <ostream>

namespace sbc::dataplane {
namespace {

constexpr std::array<std::string_view, kDropReasonCount> kNames = {
#define SBC_DROP_REASON_NAME(id, name, help) name,
    SBC_DROP_REASONS(SBC_DROP_REASON_NAME)
#undef SBC_DROP_REASON_NAME
};
constexpr std::array<std::string_view, kDropReasonCount> kHelp = {
#define SBC_DROP_REASON_HELP(id, name, help) help,
    SBC_DROP_REASONS(SBC_DROP_REASON_HELP)
#undef SBC_DROP_REASON_HELP
};

}  // namespace

// kNotDropped (and anything past the list) has a name too: callers print verdicts.
std::string_view DropReasonName(DropReason reason) {
  const auto i = static_cast<size_t>(reason);
  return i < kDropReasonCount ? kNames[i] : "not_dropped";
}
std::string_view DropReasonHelp(DropReason reason) {
  const auto i = static_cast<size_t>(reason);
  return i < kDropReasonCount ? kHelp[i] : "not dropped";
}

void PrintTo(DropReason reason, std::ostream* os) { *os << DropReasonName(reason); }

}  // namespace sbc::dataplane
