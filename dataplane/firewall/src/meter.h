// One packet against a single-rate three-colour meter, colour blind: only green passes.
#pragma once

#include <rte_meter.h>

#include <cstdint>

namespace sbc::dataplane {

inline bool MeterAllows(rte_meter_srtcm& meter, const rte_meter_srtcm_profile& profile,
                        uint64_t now) noexcept {
  // rte_meter takes the profile non-const but only reads it.
  return rte_meter_srtcm_color_blind_check(&meter, const_cast<rte_meter_srtcm_profile*>(&profile),
                                           now, 1) == RTE_COLOR_GREEN;
}

}  // namespace sbc::dataplane
