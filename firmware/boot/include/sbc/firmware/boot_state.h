// The A/B boot state: which slot boots, and how many attempts each has left.
//
// It follows RAUC's U-Boot model (BOOT_ORDER and BOOT_<slot>_LEFT): the slots are
// tried in `order`; booting a slot takes one of its attempts before anything of it
// runs; a slot with attempts left is "good" to RAUC, one with none "bad"; marking a
// slot good gives it its attempts back. So a slot whose health check never passes runs
// out of attempts and the next boot takes the other slot by itself.
//
// Stored as one protobuf file written with base::WriteFileAtomically: a power cut at
// any instant leaves the old state or the new. On a rack board the file lives on its
// own small partition; the sim board keeps it under data_dir.
// Control side only: sbc-boot and the RAUC backend (both short-lived or single-threaded).
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/schema/firmware.pb.h"

namespace sbc::firmware {

inline constexpr char kBootStateFile[] = "boot-state.pb";
inline constexpr std::string_view kSlotA = "A";
inline constexpr std::string_view kSlotB = "B";
// Events kept in the state, newest last: enough to tell an operator what happened
// over the last few boots and updates.
inline constexpr int kMaxBootEvents = 32;

[[nodiscard]] bool IsSlotName(std::string_view slot);
[[nodiscard]] std::string_view OtherSlot(std::string_view slot);

// A freshly flashed appliance: `primary` first with `attempts` attempts, the other slot
// empty (no attempts: nothing boots from it until an install makes it primary).
[[nodiscard]] schema::BootState InitialBootState(std::string_view primary, uint32_t attempts);

// The first slot in the order with attempts left, or "" when both are bad.
[[nodiscard]] std::string Primary(const schema::BootState& state);

// RAUC's set-primary: `slot` first in the order, with `attempts` attempts.
void SetPrimary(schema::BootState& state, std::string_view slot, uint32_t attempts);

// RAUC's get-state: true ("good") while the slot has attempts left.
[[nodiscard]] bool IsGood(const schema::BootState& state, std::string_view slot);

// RAUC's set-state: good gives the slot `attempts` attempts again, bad takes them all.
void SetGood(schema::BootState& state, std::string_view slot, bool good, uint32_t attempts);

// The boot decision: the first slot in the order with attempts left loses one and is
// recorded as booted. Returns it, or "" when no slot has attempts left (recovery).
[[nodiscard]] std::string TakeBootAttempt(schema::BootState& state, int64_t now_unix);

// Whether an event is a fault an operator must see (audited as FAILED by sbc-mgmtd).
enum class EventKind { kInfo, kAlarm };

// Appends an event numbered after the last one recorded (trimming the oldest past
// kMaxBootEvents; the numbers go on).
void RecordEvent(schema::BootState& state, int64_t now_unix, std::string_view slot,
                 std::string what, EventKind kind = EventKind::kInfo);

// Reads `dir`/boot-state.pb. A missing file is an error naming it (sbc-boot refuses to
// guess a slot); a damaged one too.
[[nodiscard]] std::expected<schema::BootState, std::string> LoadBootState(
    const std::filesystem::path& dir);

// Bumps the generation and writes the state crash-safely. `hook` lets tests cut the
// write between its durable steps.
[[nodiscard]] std::expected<void, std::string> SaveBootState(
    const std::filesystem::path& dir, schema::BootState& state,
    const mgmt::base::CrashHook& hook = {});

// One line per slot and the last events, for `sbc-boot state` and status.
[[nodiscard]] std::string DescribeBootState(const schema::BootState& state);

}  // namespace sbc::firmware
