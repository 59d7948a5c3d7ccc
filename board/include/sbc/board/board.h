// Loading and validating board descriptions (board/*.textproto).
//
// A board file says which ports, cores, memory, crypto device, storage and watchdog a
// model of the appliance has. Everything that touches hardware reads the board through
// this module, after validation, so a bad file is refused with every problem named
// before any device is opened.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/schema/board.pb.h"

namespace sbc::board {

using schema::Board;

// Each entry is one complete line, e.g.
//   board sim.textproto: ports[1].vdev: unknown driver "net_foo"
using Errors = std::vector<std::string>;

// Most data ports one appliance drives; bounds per-worker counter arrays.
inline constexpr int kMaxPorts = 16;

// Reads, parses and validates `file`. Any thread. On failure returns every problem
// found: unreadable file, text-format syntax (with line:column), then each invalid
// field with its path and the reason.
[[nodiscard]] std::expected<Board, Errors> LoadBoard(const std::filesystem::path& file);

// Validates a parsed board; `origin` prefixes each message (usually the file name).
// Returns no entries when the board is valid.
[[nodiscard]] Errors ValidateBoard(const Board& board, std::string_view origin);

// The driver part of a --vdev string: "net_pcap0,iface=eth1" -> "net_pcap".
[[nodiscard]] std::string_view VdevDriver(std::string_view vdev);
// The device-name part of a --vdev string: "net_pcap0,iface=eth1" -> "net_pcap0".
[[nodiscard]] std::string_view VdevName(std::string_view vdev);

// Field values with their documented defaults applied (board.proto says which).
[[nodiscard]] uint32_t RxDescriptors(const schema::Port& port);
[[nodiscard]] uint32_t TxDescriptors(const schema::Port& port);
[[nodiscard]] uint32_t Mtu(const schema::Port& port);
[[nodiscard]] uint32_t MbufDataRoom(const Board& board);
// Boot attempts per slot (storage.boot_attempts, 3 when unset).
[[nodiscard]] uint32_t BootAttempts(const Board& board);

// A storage path from the board, resolved against storage.data_dir when relative.
[[nodiscard]] std::filesystem::path ResolveStoragePath(const Board& board, std::string_view path);

}  // namespace sbc::board
