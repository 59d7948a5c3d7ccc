#include "sbc/firmware/boot_state.h"

#include <algorithm>

namespace sbc::firmware {

bool IsSlotName(std::string_view slot) { return slot == kSlotA || slot == kSlotB; }

std::string_view OtherSlot(std::string_view slot) { return slot == kSlotA ? kSlotB : kSlotA; }

schema::BootState InitialBootState(std::string_view primary, uint32_t attempts) {
  schema::BootState state;
  state.add_order(std::string(primary));
  state.add_order(std::string(OtherSlot(primary)));
  (*state.mutable_attempts_left())[std::string(primary)] = attempts;
  (*state.mutable_attempts_left())[std::string(OtherSlot(primary))] = 0;
  return state;
}

namespace {

uint32_t AttemptsLeft(const schema::BootState& state, std::string_view slot) {
  const auto it = state.attempts_left().find(std::string(slot));
  return it == state.attempts_left().end() ? 0 : it->second;
}

}  // namespace

std::string Primary(const schema::BootState& state) {
  for (const std::string& slot : state.order())
    if (IsSlotName(slot) && AttemptsLeft(state, slot) > 0) return slot;
  return "";
}

void SetPrimary(schema::BootState& state, std::string_view slot, uint32_t attempts) {
  state.clear_order();
  state.add_order(std::string(slot));
  state.add_order(std::string(OtherSlot(slot)));
  (*state.mutable_attempts_left())[std::string(slot)] = attempts;
}

bool IsGood(const schema::BootState& state, std::string_view slot) {
  return AttemptsLeft(state, slot) > 0;
}

void SetGood(schema::BootState& state, std::string_view slot, bool good, uint32_t attempts) {
  (*state.mutable_attempts_left())[std::string(slot)] = good ? attempts : 0;
}

std::string TakeBootAttempt(schema::BootState& state, int64_t now_unix) {
  const std::string slot = Primary(state);
  if (slot.empty()) {
    state.set_booted("");
    RecordEvent(state, now_unix, "", "no slot has boot attempts left: recovery needed",
                EventKind::kAlarm);
    return slot;
  }
  const uint32_t left = AttemptsLeft(state, slot) - 1;
  (*state.mutable_attempts_left())[slot] = left;
  state.set_booted(slot);
  RecordEvent(state, now_unix, slot, "boot attempt (" + std::to_string(left) + " left after it)");
  return slot;
}

void RecordEvent(schema::BootState& state, int64_t now_unix, std::string_view slot,
                 std::string what, EventKind kind) {
  state.set_events_recorded(state.events_recorded() + 1);
  schema::BootEvent* event = state.add_events();
  event->set_sequence(state.events_recorded());
  event->set_alarm(kind == EventKind::kAlarm);
  event->set_unix_time(now_unix);
  event->set_slot(std::string(slot));
  event->set_what(std::move(what));
  const int excess = state.events_size() - kMaxBootEvents;
  if (excess > 0) state.mutable_events()->DeleteSubrange(0, excess);
}

std::expected<schema::BootState, std::string> LoadBootState(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / kBootStateFile;
  auto bytes = mgmt::base::ReadFile(file);
  if (!bytes) return std::unexpected(bytes.error());
  schema::BootState state;
  if (!state.ParseFromString(*bytes) || state.order_size() != 2 || !IsSlotName(state.order(0)) ||
      !IsSlotName(state.order(1)) || state.order(0) == state.order(1))
    return std::unexpected(file.string() + ": not a boot state (damaged)");
  return state;
}

std::expected<void, std::string> SaveBootState(const std::filesystem::path& dir,
                                               schema::BootState& state,
                                               const mgmt::base::CrashHook& hook) {
  state.set_generation(state.generation() + 1);
  return mgmt::base::WriteFileAtomically(dir, kBootStateFile, state.SerializeAsString(), hook);
}

std::string DescribeBootState(const schema::BootState& state) {
  std::string text = "boot order: ";
  for (const std::string& slot : state.order()) text += slot + " ";
  text += "(primary: " + (Primary(state).empty() ? std::string("none") : Primary(state)) +
          "), booted: " + (state.booted().empty() ? std::string("-") : state.booted()) + "\n";
  for (std::string_view slot : {kSlotA, kSlotB})
    text += "slot " + std::string(slot) + ": " + (IsGood(state, slot) ? "good" : "bad") + ", " +
            std::to_string(AttemptsLeft(state, slot)) + " attempt(s) left\n";
  for (const schema::BootEvent& event : state.events())
    text += "  " + std::to_string(event.unix_time()) + " " +
            (event.slot().empty() ? "-" : event.slot()) + " " + event.what() + "\n";
  return text;
}

}  // namespace sbc::firmware
