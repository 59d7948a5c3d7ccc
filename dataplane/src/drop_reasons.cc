#include "sbc/dataplane/drop_reasons.h"

#include <array>

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

std::string_view DropReasonName(DropReason reason) { return kNames[static_cast<size_t>(reason)]; }
std::string_view DropReasonHelp(DropReason reason) { return kHelp[static_cast<size_t>(reason)]; }

}  // namespace sbc::dataplane
